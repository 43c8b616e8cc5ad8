"""The standalone serving app that `seedbed package` copies into a container build context.

`serving_app.py` is copied as-is and runs without seedbed (FastAPI, uvicorn, pandas and
scikit-learn only); seedbed itself never imports it.
"""
