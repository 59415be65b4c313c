"""Every response of the local Fireworks server parses strictly with the installed SDK's types.

The ``fireworks`` SDK (generated from Fireworks' OpenAPI description) types every response with
pydantic models that accept unknown fields silently (``extra="allow"``), so a fake that drifts
from the API would go unnoticed. Here each 2xx response the fake sent during a full run (datasets
direct and sharded, models, fine-tuning jobs through every state of the SDK's ``JobState``, batch
jobs and their output files, chat completions) is validated with the type the SDK's method returns,
by alias only, and every field the type does not declare, at any depth, is a mismatch.
"""

from collections.abc import Iterator
from typing import Any, get_args

import pydantic
import pytest
from fireworks.pagination import (
    SyncCursorBatchInferenceJobs,
    SyncCursorDatasets,
    SyncCursorSupervisedFineTuningJobs,
)
from fireworks.types.batch_inference_job import BatchInferenceJob
from fireworks.types.chat.completion_create_response import CompletionCreateResponse
from fireworks.types.dataset import Dataset
from fireworks.types.dataset_get_download_endpoint_response import (
    DatasetGetDownloadEndpointResponse,
)
from fireworks.types.dataset_get_upload_endpoint_response import DatasetGetUploadEndpointResponse
from fireworks.types.dataset_upload_response import DatasetUploadResponse
from fireworks.types.model import Model
from fireworks.types.supervised_fine_tuning_job import SupervisedFineTuningJob

from langchain_perceived_error.datasets.sft import build_sft_files
from langchain_perceived_error.fireworks.batch import (
    collect_batch_results,
    get_batch_status,
    prepare_batch_requests,
    submit_batch_job,
)
from langchain_perceived_error.fireworks.jobs import (
    PollPolicy,
    SftJobSpec,
    check_base_model,
    create_or_reuse_sft_job,
    get_job_status,
    upload_dataset,
    upload_sft_dir,
    wait_for_job,
)
from langchain_perceived_error.judge.models import DEFAULT_FIREWORKS_MODEL, resolve_model
from tests.servers.fireworks_server import LocalFireworks, completion
from tests.unit_tests import test_fireworks_local
from tests.unit_tests.test_batch import MODEL, traces  # noqa: F401 (fixture)
from tests.unit_tests.test_sft import records

FAST = PollPolicy(interval_s=0)
JOB_STATES = get_args(
    next(
        a
        for a in get_args(SupervisedFineTuningJob.model_fields["state"].annotation)
        if a is not type(None)
    )
)

RESPONSE_TYPES: dict[str, type[pydantic.BaseModel] | None] = {
    "_create_dataset": Dataset,
    "_list_datasets": SyncCursorDatasets[Dataset],
    "_get_dataset": Dataset,
    "_delete_dataset": None,  # the SDK types it `object`
    "_upload": DatasetUploadResponse,
    "_upload_endpoint": DatasetGetUploadEndpointResponse,
    "_validate_upload": None,
    "_download_endpoint": DatasetGetDownloadEndpointResponse,
    "_get_model": Model,
    "_create_sft": SupervisedFineTuningJob,
    "_list_sft": SyncCursorSupervisedFineTuningJobs[SupervisedFineTuningJob],
    "_get_sft": SupervisedFineTuningJob,
    "_cancel_sft": None,
    "_delete_sft": None,
    "_create_batch": BatchInferenceJob,
    "_list_batch": SyncCursorBatchInferenceJobs[BatchInferenceJob],
    "_get_batch": BatchInferenceJob,
    "_chat": CompletionCreateResponse,
}
"""The route handlers of the fake and the type the SDK method calling them returns."""


def _unknown_fields(value: Any, where: str) -> Iterator[str]:
    if isinstance(value, pydantic.BaseModel):
        for key in value.__pydantic_extra__ or {}:
            yield f"{where}.{key}"
        for name in type(value).model_fields:
            yield from _unknown_fields(getattr(value, name), f"{where}.{name}")
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            yield from _unknown_fields(item, f"{where}[{index}]")
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _unknown_fields(item, f"{where}[{key!r}]")


def mismatches(model: type[pydantic.BaseModel], payload: Any) -> list[str]:
    """Why ``payload`` is not exactly a ``model`` (validated by alias; unknown fields listed)."""
    name = model.__name__
    try:
        parsed = model.model_validate(payload, by_alias=True, by_name=False)
    except pydantic.ValidationError as e:
        return [f"{name}: {'.'.join(map(str, err['loc']))}: {err['msg']}" for err in e.errors()]
    return [f"{name}: field not in the SDK type: {path}" for path in _unknown_fields(parsed, name)]


def test_the_checker_catches_drift():
    good = completion("ok", DEFAULT_FIREWORKS_MODEL, cached_tokens=5)
    assert mismatches(CompletionCreateResponse, good) == []
    drifted = {**good, "usage": {**good["usage"], "cached_tokens": 5}}
    assert mismatches(CompletionCreateResponse, drifted) == [
        "CompletionCreateResponse: field not in the SDK type: CompletionCreateResponse.usage"
        ".cached_tokens"
    ]
    assert mismatches(Dataset, {"state": "DONE"})  # not in the state enum
    assert mismatches(Dataset, {"display_name": "x"})  # snake_case where the API is camelCase


def _the_whole_api(server: LocalFireworks, tmp_path, traces_path) -> None:
    """Drive every route of the fake through the real SDK (and ChatFireworks)."""
    build_sft_files(records(30), tmp_path / "sft", seed=2)
    with server.client() as client:
        upload_sft_dir(client, tmp_path / "sft", "ds", poll=FAST)
        upload_dataset(
            client, tmp_path / "sft" / "train.jsonl", "big", direct_limit=100,
            shard_bytes=10_000, poll=FAST,
        )  # fmt: skip
        list(client.datasets.list())
        client.datasets.delete("big")
        check_base_model(client, DEFAULT_FIREWORKS_MODEL)
        spec = SftJobSpec(dataset_id="ds", output_model="m", job_id="j")
        create_or_reuse_sft_job(client, spec)
        wait_for_job(lambda: get_job_status(client, "j"), poll=FAST)  # through COMPLETED
        client.models.get("m")  # the fine-tune, registered at COMPLETED
        create_or_reuse_sft_job(client, SftJobSpec(dataset_id="ds", output_model="n", job_id="k"))
        client.supervised_fine_tuning_jobs.cancel("k", body={})
        get_job_status(client, "k")
        get_job_status(client, "k")
        client.supervised_fine_tuning_jobs.delete("k")
        create_or_reuse_sft_job(client, SftJobSpec(dataset_id="ds", output_model="o", job_id="s"))
        for state in JOB_STATES:  # every state of the SDK's enum, as the fake sends it
            server.sft_steps = ((state, 50),)
            server.sft_jobs["s"].update(state="JOB_STATE_CREATING", _step=-1)
            assert get_job_status(client, "s").state == state.removeprefix("JOB_STATE_")
        requests, not_sent = tmp_path / "r.jsonl", tmp_path / "n.jsonl"
        prepare_batch_requests([str(traces_path)], requests, not_sent)
        submit_batch_job(client, requests, model=MODEL, job_id="b", poll=FAST)
        list(client.batch_inference_jobs.list())
        list(collect_batch_results(client, "b", wait=True, poll=FAST))
        for state in JOB_STATES:
            server.batch_steps = ((state, 50),)
            server.batch_jobs["b"].update(state="JOB_STATE_CREATING", _step=-1)
            assert get_batch_status(client, "b").state == state.removeprefix("JOB_STATE_")
        server.responder = lambda body: '{"perceived_error": false, "reason": "fine"}'
        client.chat.completions.create(
            model=DEFAULT_FIREWORKS_MODEL, messages=[{"role": "user", "content": "hi"}]
        )
    model = resolve_model(
        f"fireworks:{DEFAULT_FIREWORKS_MODEL}", api_key="k", base_url=server.inference_url
    )
    model.invoke("hi")
    model.close()


def test_every_fake_response_parses_strictly_with_the_sdk_types(
    fireworks_server,
    tmp_path,
    traces,  # noqa: F811
):
    server = fireworks_server
    server.cached_tokens = 100
    _the_whole_api(server, tmp_path, traces)
    answered = [r for r in server.requests if r.route is not None and 200 <= r.status < 300]
    found = []
    for request in answered:
        model = RESPONSE_TYPES[request.route]
        if model is None:
            assert isinstance(request.response, dict)
        else:
            found += [
                f"{request.method} {request.path}: {m}" for m in mismatches(model, request.response)
            ]
    assert found == []
    # a chat completion with token log-probabilities (asked by resolve_model) was among them
    chats = [r.response for r in answered if r.route == "_chat"]
    assert any(c["choices"][0].get("logprobs", {}).get("content") for c in chats)
    # every route of the fake was checked, and the table names no route the fake lacks
    assert {r.route for r in answered} == set(RESPONSE_TYPES)
    assert {handler.__name__ for _, _, handler in LocalFireworks._ROUTES} == set(RESPONSE_TYPES)
    # the batch output rows hold chat completions: the same type
    downloads = [r for r in server.signed_requests if r.route == "_signed_get"]
    rows = [json_line for r in downloads for json_line in _json_lines(r.response)]
    completions = [row["response"] for row in rows if "response" in row]
    assert completions
    assert [m for c in completions for m in mismatches(CompletionCreateResponse, c)] == []


def _json_lines(data: bytes) -> list[dict[str, Any]]:
    import json

    return [json.loads(line) for line in data.splitlines() if line.strip()]


@pytest.mark.parametrize("tokens", [(321, 17)])
def test_the_hand_written_completion_of_the_model_tests_parses_too(tokens):
    payload = test_fireworks_local.completion('{"perceived_error": false}', *tokens)
    assert mismatches(CompletionCreateResponse, payload) == []
