"""Fireworks: SFT dataset uploads, fine-tuning jobs, serving, and batch inference for judging.

Owns the control-plane calls through the ``fireworks`` SDK (:mod:`.jobs`: upload, create or reuse
a job, wait, serving instructions) and batch inference (:mod:`.batch`: request files, submit,
status, collect results as judge output).

May import: :mod:`..datasets`, :mod:`..judge`, :mod:`..core`, :mod:`..redaction`,
:mod:`..transport`.
"""

from langchain_perceived_error.fireworks.batch import (
    BatchNotReadyError,
    BatchSubmission,
    collect_batch_results,
    get_batch_status,
    prepare_batch_requests,
    submit_batch_job,
)
from langchain_perceived_error.fireworks.jobs import (
    FireworksApiError,
    FireworksConfigError,
    JobConflictError,
    JobStatus,
    SftJobSpec,
    create_or_reuse_sft_job,
    get_job_status,
    serving_instructions,
    upload_sft_dir,
    wait_for_job,
)

__all__ = [
    "BatchNotReadyError",
    "BatchSubmission",
    "FireworksApiError",
    "FireworksConfigError",
    "JobConflictError",
    "JobStatus",
    "SftJobSpec",
    "collect_batch_results",
    "create_or_reuse_sft_job",
    "get_batch_status",
    "get_job_status",
    "prepare_batch_requests",
    "serving_instructions",
    "submit_batch_job",
    "upload_sft_dir",
    "wait_for_job",
]
