"""Datasets: labelled records, panel labelling, reviews, LangSmith datasets and SFT files.

Owns the labelled-record files (:mod:`.labels`), labels read back from LangSmith feedback
(:mod:`.langsmith_labels`), the judge panel and its agreement report (:mod:`.panel`), human
review files (:mod:`.reviews`), the deterministic split (:mod:`.split`), SFT files (:mod:`.sft`)
and LangSmith dataset pushes (:mod:`.langsmith_dataset`).

May import: :mod:`..online`, :mod:`..evaluation`, :mod:`..judge`, :mod:`..rules`, :mod:`..core`,
:mod:`..transport`, :mod:`..redaction`.
"""

from langchain_perceived_error.core.metrics import cohen_kappa  # the panel's agreement measure

# isort: split
# sft
from langchain_perceived_error.datasets.sft import (
    SftBuildStats,
    ValidationReport,
    build_sft_files,
    judge_messages_as_dicts,
    sft_example,
    validate_sft_file,
)
from langchain_perceived_error.datasets.split import split_records

# isort: split
# labels, reviews and panel
from langchain_perceived_error.datasets.labels import (
    LabelFileError,
    LoadReport,
    load_judge_output,
    load_labelled_jsonl,
    read_labelled,
    source_ids,
    write_labelled,
)
from langchain_perceived_error.datasets.langsmith_dataset import (
    DatasetPushError,
    DatasetPushReport,
    example_payload,
    push_labelled_dataset,
    splits_from_sft_dir,
)
from langchain_perceived_error.datasets.langsmith_labels import (
    LangSmithLabelError,
    feedback_provenance,
    load_langsmith_labels,
)
from langchain_perceived_error.datasets.panel import (
    ADJUDICATION_PROMPT,
    AgreementReport,
    PanelLabeller,
    PanelOutcome,
    build_adjudication_messages,
    queue_item_for,
)
from langchain_perceived_error.datasets.reviews import (
    ReviewItem,
    ReviewVote,
    read_review_answers,
    read_reviews,
)

__all__ = [
    "ADJUDICATION_PROMPT",
    "AgreementReport",
    "DatasetPushError",
    "DatasetPushReport",
    "LabelFileError",
    "LangSmithLabelError",
    "LoadReport",
    "PanelLabeller",
    "PanelOutcome",
    "ReviewItem",
    "ReviewVote",
    "SftBuildStats",
    "ValidationReport",
    "build_adjudication_messages",
    "build_sft_files",
    "cohen_kappa",
    "example_payload",
    "feedback_provenance",
    "judge_messages_as_dicts",
    "load_judge_output",
    "load_labelled_jsonl",
    "load_langsmith_labels",
    "push_labelled_dataset",
    "queue_item_for",
    "read_labelled",
    "read_review_answers",
    "read_reviews",
    "sft_example",
    "source_ids",
    "split_records",
    "splits_from_sft_dir",
    "validate_sft_file",
    "write_labelled",
]
