"""``python -m langchain_perceived_error`` runs the ``perceived-error`` command."""

from langchain_perceived_error.cli import main

main()
