"""Fine-tune your own perceived-error judge on Fireworks (LoRA SFT of the default Qwen model).

    python cookbook/06_finetune_on_fireworks.py --dry-run        # offline: prints the SDK calls
    FIREWORKS_API_KEY=... FIREWORKS_ACCOUNT_ID=... \\
        python cookbook/06_finetune_on_fireworks.py --dataset-id pe-sample --output-model pe-judge

Steps: build SFT files from the bundled sample (``05_build_sft_dataset.py``, in a temporary
directory removed at the end; or ``--sft-dir`` for files you built), validate them, upload
``train.jsonl`` as DATASET and ``holdout.jsonl`` as DATASET-holdout (waiting for READY), create the
LoRA fine-tuning job with the holdout as its evaluation dataset, and with ``--wait`` follow it to
the end and print how to serve the output model. Re-running with the same ids reuses the
datasets and the job instead of paying twice.

Without ``FIREWORKS_API_KEY`` (or with ``--dry-run``) nothing is sent: the script prints the
calls it would make, with the arguments the library would pass. A real run bills training tokens
(about dataset tokens x epochs): the sample is tiny, but check prices first.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import tempfile
from pathlib import Path
from typing import Any

from langchain_perceived_error.datasets.sft import HOLDOUT_FILE, TRAIN_FILE, validate_sft_file
from langchain_perceived_error.fireworks.jobs import (
    MAX_RETRIES,
    JobStatus,
    PollPolicy,
    SftJobSpec,
    create_or_reuse_sft_job,
    default_eval_dataset,
    fireworks_client,
    get_job_status,
    holdout_dataset_id,
    job_status,
    serving_instructions,
    upload_sft_dir,
    wait_for_job,
)
from langchain_perceived_error.judge.models import DEFAULT_FIREWORKS_MODEL

HERE = Path(__file__).parent


def build_sample_files(out: Path) -> Path:
    """Run cookbook 05 on the bundled sample into ``out``."""
    spec = importlib.util.spec_from_file_location("build_sft", HERE / "05_build_sft_dataset.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main(["--out", str(out)])
    return out


def _rows(path: Path) -> int:
    with path.open(encoding="utf-8") as lines:
        return sum(1 for line in lines if line.strip())


def dry_run(sft_dir: Path, spec: SftJobSpec, account: str) -> list[str]:
    """The SDK calls a real run makes, as Python lines (nothing is sent)."""
    calls = [
        "client = Fireworks(api_key=os.environ['FIREWORKS_API_KEY'], "
        f"account_id={account!r}, max_retries={MAX_RETRIES})  # the SDK retries 429/5xx/timeouts"
    ]
    for name, dataset_id in (
        (TRAIN_FILE, spec.dataset_id),
        (HOLDOUT_FILE, holdout_dataset_id(spec.dataset_id)),
    ):
        file = sft_dir / name
        dataset: dict[str, Any] = {
            "format": "CHAT",
            "example_count": str(_rows(file)),
            "user_uploaded": {},
            "display_name": f"{name} sha256=<first 16 hex of the file's sha256>",
        }
        calls += [
            f"client.datasets.get({dataset_id!r})  # 404: create it; READY: reuse it",
            f"client.datasets.create(dataset_id={dataset_id!r}, dataset={dataset!r})",
            f"client.datasets.upload({dataset_id!r}, file=Path({str(file)!r}))"
            "  # > 150 MB: fireworks.lib.dataset_upload.upload_dataset_shards",
            f"client.datasets.get({dataset_id!r}).state  # polled until 'READY'",
        ]
    request = spec.model_copy(
        update={"eval_dataset_id": spec.eval_dataset_id or holdout_dataset_id(spec.dataset_id)}
    ).request(account)
    arguments = ", ".join(f"{key}={value!r}" for key, value in request.items())
    calls += [
        "client.supervised_fine_tuning_jobs.list(page_size=200)  # a job for this output model?",
        f"client.supervised_fine_tuning_jobs.create({arguments})"
        + (
            ""
            if spec.job_id
            else "  # sent once, through client.with_options(max_retries=0): Fireworks names "
            "the job, so a retry could start a second one"
        ),
        "client.supervised_fine_tuning_jobs.get(<job id>)  # polled until JOB_STATE_COMPLETED",
    ]
    return calls


def _print_status(status: JobStatus) -> None:
    percent = f" {status.percent}%" if status.percent is not None else ""
    cost = f", est. {status.estimated_cost}" if status.estimated_cost else ""
    print(f"  job {status.name}: {status.state}{percent}{cost}")


def run(sft_dir: Path, spec: SftJobSpec, *, wait: bool, poll_interval: float) -> JobStatus:
    """Upload, create (or reuse) the job, and optionally wait for it (a real run)."""
    client = fireworks_client()
    poll = PollPolicy(interval_s=poll_interval)
    upload = upload_sft_dir(client, sft_dir, spec.dataset_id, poll=poll)
    for result in (upload.train, upload.holdout):
        if result is not None:
            verb = "uploaded" if result.uploaded else "reused"
            print(f"dataset {result.name}: {verb}, {result.example_count} examples, {result.state}")
    evaluation = spec.eval_dataset_id or default_eval_dataset(client, spec.dataset_id)
    outcome = create_or_reuse_sft_job(
        client, spec.model_copy(update={"eval_dataset_id": evaluation})
    )
    status = job_status(outcome.job)
    print(f"fine-tuning job {outcome.action}: {status.name}")
    for note in outcome.notes:
        print(f"  note: {note}")
    if wait:
        status = wait_for_job(
            lambda: get_job_status(client, status.name), poll=poll, on_update=_print_status
        )
        if status.succeeded and status.output_model:
            print(serving_instructions(status.output_model))
    return status


def main(argv: list[str] | None = None) -> list[str] | JobStatus:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dry-run", action="store_true", help="print the calls, send nothing")
    parser.add_argument("--sft-dir", type=Path, help="files from `perceived-error sft build`")
    parser.add_argument("--dataset-id", default="perceived-error-sample")
    parser.add_argument("--output-model", default="perceived-error-judge-sample")
    parser.add_argument("--base-model", default=DEFAULT_FIREWORKS_MODEL)
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--lora-rank", type=int)
    parser.add_argument("--job-id")
    parser.add_argument("--wait", action="store_true", help="follow the job to its end")
    parser.add_argument("--poll-interval", type=float, default=30.0)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="pe-sft-") as tmp:  # removed at the end, always
        sft_dir = args.sft_dir or build_sample_files(Path(tmp))
        return _validate_and_run(args, sft_dir)


def _validate_and_run(args: argparse.Namespace, sft_dir: Path) -> list[str] | JobStatus:
    for name in (TRAIN_FILE, HOLDOUT_FILE):
        report = validate_sft_file(sft_dir / name)
        if not report.ok:
            raise SystemExit("\n".join(report.lines()))
    spec = SftJobSpec(
        dataset_id=args.dataset_id,
        output_model=args.output_model,
        base_model=args.base_model,
        epochs=args.epochs,
        lora_rank=args.lora_rank,
        job_id=args.job_id,
    )
    if args.dry_run or not os.environ.get("FIREWORKS_API_KEY"):
        if not args.dry_run:
            print("FIREWORKS_API_KEY is not set: a dry run (nothing is sent)")
        account = os.environ.get("FIREWORKS_ACCOUNT_ID") or "<your-account-id>"
        calls = dry_run(sft_dir, spec, account)
        print("\n".join(calls))
        return calls
    return run(sft_dir, spec, wait=args.wait, poll_interval=args.poll_interval)


if __name__ == "__main__":
    main()
