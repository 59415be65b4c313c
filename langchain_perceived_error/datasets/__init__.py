"""Datasets: labelled records, panel labelling, LangSmith datasets, Fireworks SFT files and jobs.

A plain re-export list; each block is owned by the module(s) it names.
"""

# sft, fireworks and batch
from langchain_perceived_error.datasets.batch import (
    BatchNotReadyError,
    BatchSubmission,
    batch_request_row,
    collect_batch_results,
    get_batch_status,
    prepare_batch_requests,
    submit_batch_job,
)
from langchain_perceived_error.datasets.fireworks_jobs import (
    FireworksApiError,
    FireworksConfigError,
    JobConflictError,
    JobStatus,
    PollPolicy,
    RetryPolicy,
    SftJobSpec,
    SftValidationError,
    create_or_reuse_sft_job,
    default_eval_dataset,
    fireworks_client,
    get_job_status,
    serving_instructions,
    upload_dataset,
    upload_sft_dir,
    wait_for_job,
)
from langchain_perceived_error.datasets.sft import (
    SftBuildStats,
    ValidationReport,
    build_sft_files,
    judge_messages_as_dicts,
    sft_example,
    validate_sft_file,
)
from langchain_perceived_error.datasets.split import split_records
from langchain_perceived_error.datasets.tokens import TokenCounter, resolve_token_counter

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
    cohen_kappa,
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
    "BatchNotReadyError",
    "BatchSubmission",
    "DatasetPushError",
    "DatasetPushReport",
    "FireworksApiError",
    "FireworksConfigError",
    "JobConflictError",
    "JobStatus",
    "LabelFileError",
    "LangSmithLabelError",
    "LoadReport",
    "PanelLabeller",
    "PanelOutcome",
    "PollPolicy",
    "RetryPolicy",
    "ReviewItem",
    "ReviewVote",
    "SftBuildStats",
    "SftJobSpec",
    "SftValidationError",
    "TokenCounter",
    "ValidationReport",
    "batch_request_row",
    "build_adjudication_messages",
    "build_sft_files",
    "cohen_kappa",
    "collect_batch_results",
    "create_or_reuse_sft_job",
    "default_eval_dataset",
    "example_payload",
    "feedback_provenance",
    "fireworks_client",
    "get_batch_status",
    "get_job_status",
    "judge_messages_as_dicts",
    "load_judge_output",
    "load_labelled_jsonl",
    "load_langsmith_labels",
    "prepare_batch_requests",
    "push_labelled_dataset",
    "queue_item_for",
    "read_labelled",
    "read_review_answers",
    "read_reviews",
    "resolve_token_counter",
    "serving_instructions",
    "sft_example",
    "source_ids",
    "split_records",
    "splits_from_sft_dir",
    "submit_batch_job",
    "upload_dataset",
    "upload_sft_dir",
    "validate_sft_file",
    "wait_for_job",
    "write_labelled",
]
