"""`python -m seedbed` is the `seedbed` command."""

from seedbed.cli import main

main()
