"""A corpus for measuring ``--redact``: realistic values that must be masked, and look-alikes that
must not, each inside a sentence as a user or an assistant would write it.

Every value is fake. Key formats follow the providers' documentation and gitleaks' rules
(``config/gitleaks.toml``, gitleaks/gitleaks, MIT); key bodies are drawn from a seeded generator,
so the corpus is the same on every run. IBANs and test card numbers are the published examples
(ISO 13616 / the card networks' test numbers); other card numbers are random with a valid Luhn
digit. Phone numbers are in each country's common national and international formats.

Run ``python -m tests.redaction_corpus`` to print the README's table (per kind: caught, missed,
false positives) for the default redactor.
"""

from __future__ import annotations

import base64
import json
import random
import re
import string
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from stdnum import luhn

_RANDOM = random.Random(20261204)
_ALNUM = string.ascii_letters + string.digits
_URLSAFE = _ALNUM + "_-"
_HEX = "0123456789abcdef"


def _body(length: int, alphabet: str = _ALNUM) -> str:
    return "".join(_RANDOM.choice(alphabet) for _ in range(length))


def _digits(length: int) -> str:
    return _body(length, string.digits)


def _b64url(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def _card(prefix: str, length: int) -> str:
    partial = prefix + _digits(length - len(prefix) - 1)
    return partial + luhn.calc_check_digit(partial)


def _grouped(number: str, sizes: tuple[int, ...], separator: str) -> str:
    parts, start = [], 0
    for size in sizes:
        parts.append(number[start : start + size])
        start += size
    return separator.join(parts)


@dataclass(frozen=True)
class Case:
    """One sentence; ``value`` is what must be masked (``None``: a look-alike, mask nothing)."""

    kind: str
    text: str
    value: str | None = None
    note: str = ""


def _must(kind: str, template: str, value: str, note: str = "") -> Case:
    return Case(kind, template.format(value), value, note)


def _keys() -> list[Case]:
    jwt = (
        _b64url({"alg": "HS256", "typ": "JWT"})
        + "."
        + _b64url({"sub": "user_8812", "name": "Jane Doe", "iat": 1733300000})
        + "."
        + _body(43, _URLSAFE)
    )
    pem_body = "\n".join(_body(64, _ALNUM + "+/") for _ in range(4))
    values = [
        (
            "openai sk-proj",
            "My OPENAI_API_KEY is {} and it says 401.",
            f"sk-proj-{_body(74, _URLSAFE)}T3BlbkFJ{_body(74, _URLSAFE)}",
        ),
        (
            "openai sk-proj 58",
            "export OPENAI_API_KEY='{}'",
            f"sk-proj-{_body(58, _URLSAFE)}T3BlbkFJ{_body(58, _URLSAFE)}",
        ),
        (
            "openai sk-svcacct",
            "the service account key {} stopped working",
            f"sk-svcacct-{_body(74, _URLSAFE)}T3BlbkFJ{_body(74, _URLSAFE)}",
        ),
        (
            "openai sk-admin",
            'client = OpenAI(api_key="{}")',
            f"sk-admin-{_body(58, _URLSAFE)}T3BlbkFJ{_body(58, _URLSAFE)}",
        ),
        ("openai legacy", "old key: {}", f"sk-{_body(20)}T3BlbkFJ{_body(20)}"),
        ("anthropic", "ANTHROPIC_API_KEY={}", f"sk-ant-api03-{_body(93, _URLSAFE)}AA"),
        (
            "anthropic",
            "I pasted {} into the config, why is it rejected?",
            f"sk-ant-api03-{_body(93, _URLSAFE)}AA",
        ),
        ("anthropic admin", "admin key {} for the org", f"sk-ant-admin01-{_body(93, _URLSAFE)}AA"),
        ("stripe secret", "stripe.api_key = '{}'", f"sk_live_{_body(99)}"),
        ("stripe restricted", "use the restricted key {} for refunds", f"rk_live_{_body(24)}"),
        ("stripe test", "test mode key {}", f"sk_test_{_body(24)}"),
        ("stripe webhook", "STRIPE_WEBHOOK_SECRET={}", f"whsec_{_body(32)}"),
        ("slack bot", "SLACK_BOT_TOKEN={}", f"xoxb-{_digits(12)}-{_digits(13)}-{_body(24)}"),
        (
            "slack user",
            "my user token is {} if you need it",
            f"xoxp-{_digits(12)}-{_digits(12)}-{_digits(13)}-{_body(32, _HEX)}",
        ),
        (
            "slack app",
            "app-level token {}",
            f"xapp-1-A{_body(10).upper()}-{_digits(13)}-{_body(64, _HEX)}",
        ),
        ("google api", "maps key {} in the HTML", f"AIza{_body(35, _URLSAFE)}"),
        (
            "google oauth",
            "Authorization header had ya29 token {}",
            f"ya29.a0{_body(150, _URLSAFE)}",
        ),
        ("google client secret", "client_secret: {}", f"GOCSPX-{_body(28, _URLSAFE)}"),
        (
            "aws key id",
            "AWS_ACCESS_KEY_ID={}",
            f"AKIA{_body(16, string.ascii_uppercase + '234567')}",
        ),
        (
            "aws session key id",
            "temporary credentials {} expired",
            f"ASIA{_body(16, string.ascii_uppercase + '234567')}",
        ),
        ("aws secret", "aws_secret_access_key = {}", _body(40, _ALNUM + "+/")),
        ("aws secret alone", "and the secret part is {} (from the CSV)", _body(40, _ALNUM + "+/")),
        ("github classic", "GITHUB_TOKEN={}", f"ghp_{_body(36)}"),
        ("github fine-grained", "git clone with {} fails", f"github_pat_{_body(22)}_{_body(59)}"),
        ("github oauth", "the app got {}", f"gho_{_body(36)}"),
        ("gitlab", "private-token: {}", f"glpat-{_body(20, _URLSAFE)}"),
        (
            "gitlab routable",
            "new GitLab token {} is rejected",
            f"glpat-{_body(27, _URLSAFE)}.01.{_body(9, string.ascii_lowercase + string.digits)}",
        ),
        ("langsmith pat", "LANGSMITH_API_KEY={}", f"lsv2_pt_{_body(32, _HEX)}_{_body(10, _HEX)}"),
        (
            "langsmith service",
            "service key {} for CI",
            f"lsv2_sk_{_body(32, _HEX)}_{_body(10, _HEX)}",
        ),
        ("fireworks", "FIREWORKS_API_KEY={}", f"fw_{_body(24)}"),
        ("fireworks", "I used {} with the llama model", f"fw_{_body(33)}"),
        (
            "hugging face",
            "huggingface-cli login --token {}",
            f"hf_{_body(34, string.ascii_letters)}",
        ),
        ("hugging face org", "org token {}", f"api_org_{_body(34, string.ascii_letters)}"),
        ("jwt", "the session cookie is {}", jwt),
        (
            "bearer",
            "curl -H 'Authorization: {}' https://api.example.com",
            f"Bearer {_body(40, _URLSAFE)}",
        ),
        ("groq", "GROQ_API_KEY={}", f"gsk_{_body(52)}"),
        ("xai", "XAI_API_KEY={}", f"xai-{_body(80)}"),
        ("perplexity", "pplx key {}", f"pplx-{_body(48)}"),
        ("npm", "//registry.npmjs.org/:_authToken={}", f"npm_{_body(36)}"),
        ("pypi", "password = {}", f"pypi-AgEIcHlwaS5vcmc{_body(70, _URLSAFE)}"),
        ("sendgrid", "SENDGRID_API_KEY={}", f"SG.{_body(22, _URLSAFE)}.{_body(43, _URLSAFE)}"),
        ("twilio", "twilio api key {}", f"SK{_body(32, _HEX)}"),
        ("digitalocean", "doctl auth init -t {}", f"dop_v1_{_body(64, _HEX)}"),
        (
            "private key",
            "here is the deploy key:\n{}\nplease fix",
            f"-----BEGIN OPENSSH PRIVATE KEY-----\n{pem_body}\n-----END OPENSSH PRIVATE KEY-----",
        ),
        (
            "url credentials",
            "DATABASE_URL=postgres://{}@db.internal:5432/prod",
            f"app_user:{_body(16)}",
        ),
        ("password", "my password is {} and it still fails", "Tr0ub4dor&3x!"),
        ("password", 'DB_PASSWORD="{}"', _body(18, _ALNUM + "!#%&*")),
    ]
    return [_must("key", template, value, note) for note, template, value in values]


def _phones() -> list[Case]:
    numbers = [
        ("US", "(415) 829-3741"),
        ("US", "+1 212 736 5000"),
        ("US", "415.829.3741"),
        ("US", "+1-646-555-3890"),
        ("CA", "+1 604 683 2000"),
        ("GB", "+44 20 7946 0958"),
        ("GB", "020 7946 0958"),
        ("GB", "+44 7911 123456"),
        ("GB", "07911 123456"),
        ("DE", "+49 30 12345678"),
        ("DE", "030 12345678"),
        ("DE", "+49 151 23456789"),
        ("DE", "0151 23456789"),
        ("DE", "+49 (0)89 1234567"),
        ("FR", "01.23.45.67.89"),
        ("FR", "01 23 45 67 89"),
        ("FR", "+33 1 23 45 67 89"),
        ("FR", "06 12 34 56 78"),
        ("FR", "+33 (0)6 12 34 56 78"),
        ("IN", "+91 98765 43210"),
        ("IN", "098765 43210"),
        ("IN", "+91-22-2345-6789"),
        ("BR", "+55 11 91234-5678"),
        ("BR", "(11) 91234-5678"),
        ("BR", "+55 21 2345-6789"),
        ("JP", "+81 3-1234-5678"),
        ("JP", "03-1234-5678"),
        ("JP", "+81 90-1234-5678"),
        ("JP", "090-1234-5678"),
        ("AU", "+61 2 9876 5432"),
        ("AU", "(02) 9876 5432"),
        ("AU", "0412 345 678"),
        ("ES", "+34 912 345 678"),
        ("ES", "612 34 56 78"),
        ("IT", "+39 06 1234 5678"),
        ("IT", "06 1234 5678"),
        ("IT", "+39 312 345 6789"),
        ("MX", "+52 55 1234 5678"),
        ("MX", "55 1234 5678"),
        ("NL", "+31 20 123 4567"),
        ("NL", "020 123 4567"),
        ("NL", "06 12345678"),
        ("CN", "+86 138 0013 8000"),
        ("CN", "+86 10 1234 5678"),
        ("ZA", "+27 21 123 4567"),
        ("KR", "+82 2-312-3456"),
        ("KR", "+82 10-1234-5678"),
        ("RU", "+7 495 123-45-67"),
        ("RU", "8 (495) 123-45-67"),
        ("NG", "+234 803 123 4567"),
        ("CH", "+41 44 668 18 00"),
        ("SE", "+46 8 123 456 78"),
        ("PL", "+48 22 123 45 67"),
        ("PT", "+351 912 345 678"),
        ("IE", "+353 1 234 5678"),
    ]
    templates = [
        "call me on {} after 6pm",
        "My number is {}.",
        "Phone: {}",
        "text {} when you land",
        "reach the office at {}, ask for Ana",
    ]
    return [
        _must("phone", templates[i % len(templates)], number, country)
        for i, (country, number) in enumerate(numbers)
    ]


def _ibans() -> list[Case]:
    ibans = [
        "DE89 3704 0044 0532 0130 00",
        "GB29 NWBK 6016 1331 9268 19",
        "FR14 2004 1010 0505 0001 3M02 606",
        "ES91 2100 0418 4502 0005 1332",
        "NL91 ABNA 0417 1643 00",
        "IT60 X054 2811 1010 0000 0123 456",
        "BE71 0961 2345 6769",
        "CH93 0076 2011 6238 5295 7",
        "DE89370400440532013000",
        "PL61 1090 1014 0000 0712 1981 2874",
    ]
    templates = ["Please transfer it to {} today.", "IBAN: {}", "my account {} (Sparkasse)"]
    return [_must("iban", templates[i % 3], value) for i, value in enumerate(ibans)]


def _cards() -> list[Case]:
    numbers = [
        ("4111111111111111", (4, 4, 4, 4), " "),
        ("4111111111111111", (4, 4, 4, 4), "-"),
        ("4111111111111111", (4, 4, 4, 4), "."),
        ("4111111111111111", (16,), ""),
        ("5555555555554444", (4, 4, 4, 4), " "),
        ("5105105105105100", (4, 4, 4, 4), "-"),
        ("2223003122003222", (4, 4, 4, 4), " "),
        ("378282246310005", (4, 6, 5), " "),
        ("371449635398431", (4, 6, 5), "-"),
        ("6011111111111117", (4, 4, 4, 4), " "),
        ("6011000990139424", (4, 4, 4, 4), "."),
        ("3530111333300000", (4, 4, 4, 4), " "),
        ("30569309025904", (4, 6, 4), " "),
        (_card("4", 16), (4, 4, 4, 4), " "),
        (_card("51", 16), (4, 4, 4, 4), "."),
        (_card("4", 19), (4, 4, 4, 4, 3), " "),
        (_card("62", 16), (16,), ""),
    ]
    templates = ["my card is {}, exp 09/27", "charge {} please", "Card number: {}"]
    return [
        _must("card", templates[i % 3], _grouped(number, sizes, separator))
        for i, (number, sizes, separator) in enumerate(numbers)
    ]


def _ips() -> list[Case]:
    addresses = [
        "203.0.113.7",
        "198.51.100.23",
        "192.168.1.10",
        "10.0.0.42",
        "172.16.254.1",
        "8.8.8.8",
        "2001:db8::7",
        "2001:0db8:85a3:0000:0000:8a2e:0370:7334",
        "fe80::1ff:fe23:4567:890a",
        "::ffff:192.0.2.128",
        "2a00:1450:4001:82b::200e",
    ]
    templates = [
        "the server at {} refuses connections",
        "my IP is {}.",
        "ssh root@{} hangs",
        "login from {} was blocked",
    ]
    return [_must("ip", templates[i % 4], value) for i, value in enumerate(addresses)]


def _emails() -> list[Case]:
    addresses = [
        "jane.doe+work@example.co.uk",
        "josé.garcía@correo.es",
        "müller@bücher.de",
        "用户@例子.广告",
        "почта@пример.рф",
        "αλέξης@παράδειγμα.ελ",
        "o'brien@example.ie",
        "priya.sharma@कंपनी.भारत",
        "j_smith-92@mail.example.com",
        "info@xn--bcher-kva.de",
    ]
    templates = ["email me at {}", "Send it to {}, not the old one.", "<{}>"]
    return [_must("email", templates[i % 3], value) for i, value in enumerate(addresses)]


def _lookalikes() -> list[Case]:
    cases = {
        "order/reference": [
            "Order #A-100234 has not arrived",
            "order 12345678 shipped yesterday",
            "order number 4000123456 is wrong",
            "Invoice INV-2024-00042 is unpaid",
            "ticket 58213 was closed",
            "tracking 1Z999AA10123456784 says delivered",
            "booking ref XK7P2Q, flight LH 2024",
            "case 2024-118734 in the portal",
            "PO 4500012345 for the Berlin office",
            "customer ID 70010234 in the CRM",
            "confirmation code 839 271",
            "account no. 123456 at the gym",
        ],
        "date/time": [
            "on 2024-05-01 at 10:30",
            "on 05/11/2024",
            "deadline 11.05.2024",
            "from 2024-05-01T10:30:00Z to 2024-05-02T08:00:00+02:00",
            "at 10:30:45 UTC",
            "1 May 2024, 14h30",
            "between 09:00 and 17:30",
            "Q3 2024 (2024-07-01 - 2024-09-30)",
            "timestamp 1714557600",
            "took 00:01:23.456",
            "12/31/2023 11:59 PM",
            "week 2024-W18",
            "2024.05.01 12:00",
            "20240501-103000",
        ],
        "version": [
            "version 3.11.7",
            "upgrade to v1.2.3",
            "Chrome 120.0.6099.109",
            "Windows build 10.0.19045.3693",
            "numpy==1.26.4",
            "lodash@4.17.21",
            "langchain-core>=1.0,<2",
            "node 20.11.1 and npm 10.2.4",
            "macOS 14.4.1 (23E224)",
            "release 2024.05.1",
            "ubuntu 22.04.4 LTS",
            "firmware 1.0.0.1",
        ],
        "hash/id": [
            "commit 2fd4e1c67a2d28fced849ee1bb76e7391b93eb12",
            "short sha 9fceb02",
            "md5 d41d8cd98f00b204e9800998ecf8427e",
            "sha256 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            "uuid 123e4567-e89b-12d3-a456-426614174000",
            "run id 0f8fad5b-d9cb-469f-a165-70867728950e",
            "trace_id=4bf92f3577b34da6a3ce929d0e0e4736",
            "docker image sha256:a3ed95caeb02",
            "request id req_01HZX3K8Q2W5E7R9T1Y3U5I7O9",
            "object id 507f1f77bcf86cd799439011",
            "Discord id 1189234567890123456",
            'etag W/"33a64df551425fcc55e4d42a148795d9f25f89d4"',
        ],
        "isbn/barcode": [
            "ISBN 978-3-16-148410-0",
            "ISBN 0-306-40615-2",
            "ISBN 978 0 306 40615 7",
            "EAN 4006381333931",
            "UPC 036000291452",
            "ISSN 0317-8471",
        ],
        "amount/number": [
            "price 1,299.00",
            "€ 1.234.567,89 total",
            "1 234 567,89 € including VAT",
            "₹12,34,567 per year",
            "$ 2,500,000.00",
            "population 8 336 817",
            "1,000,000 users",
            "step 123456789 of training",
            "score 98.6%",
            "about 3.14159265",
            "coordinates 48.8566, 2.3522",
            "5 000 000 tokens",
            "CHF 12'345.50",
            "¥ 1,980",
        ],
        "code/tech": [
            "port 8080",
            "HTTP 404 on /api/v2/users/42",
            "error 0x80070005",
            "MAC 00:1A:2B:3C:4D:5E",
            "std::vector<int> in C++",
            "localhost:3000 is up",
            "127.0.0.1:8000 refused",
            "bind to 0.0.0.0",
            "::1 is the loopback",
            "a::b in Rust",
            "sk-learn-compatible-estimator",
            "risk-management_framework_v2",
            "scikit-learn 1.4.2",
            "the task-queue-worker-0001 pod",
            "pip install fw-utils",
            "usr/local/lib/python3.11/site-packages/x",
            "import numpy as np",
            "use @decorator syntax",
            "user@localhost",
            "git@github.com:org/repo.git",
            "max_tokens: 4096",
            "token_count: 123456789",
            "api_key=None",
            "12:30 at gate B12",
            "room 1204, floor 12",
            "RFC 3339",
            "ISO 8601",
            "100.0.0.0.1 is not an address",
            "call stack depth 1000",
        ],
        "more": [
            "Amazon order 112-3456789-1234567",
            "eBay item 394857261034",
            "SKU 88-2231-09",
            "shipment 9400 1000 0000 0000 0000 00 is late",
            "reservation 4F7K-9LQ2",
            "Jira PROJ-12345 is blocked",
            "PR #4821 broke the build",
            "issue 12 is open",
            "room 221B, 2nd floor",
            "postcode SW1A 1AA",
            "ZIP 94103-1234",
            "PLZ 10115 Berlin",
            "3/4 cup of flour",
            "it scored 21-17 in overtime",
            "pages 123-145",
            "ages 18-65",
            "years 1990-2024",
            "10-15 minutes",
            "5 x 10^6 cells",
            "2.5e-3 seconds",
            "lat 40.7128, long -74.0060",
            "resolution 1920x1080",
            "ratio 16:9",
            "from 08.00 to 17.30",
            "25/12/2024",
            "2024/12/25",
            "Dec 25, 2024 at 8:00",
            "Mon 2024-12-23 09:15 CET",
            "the 1980s",
            "at 23:59:59.999",
            "python 3.12.0rc1",
            "v2.0.0-beta.3+build.1234",
            "CUDA 12.4.1, driver 550.54.15",
            "kernel 6.8.0-45-generic",
            "API v2024-06-01",
            "openai==1.54.3",
            "checksum 0x1A2B3C4D",
            "CRC32 cbf43926",
            "git tag v1.4.2-12-g9fceb02",
            "base64 aGVsbG8gd29ybGQ=",
            "sha1 da39a3ee5e6b4b0d3255bfef95601890afd80709",
            "id 01HZX3K8Q2W5E7R9T1Y3U5I7O9",
            "uuid 550e8400-e29b-41d4-a716-446655440000",
            "ISBN-13 9780306406157",
            "ISBN 979-10-90636-07-1",
            "DOI 10.1000/182",
            "arXiv 2403.12345",
            "PMID 31452104",
            "VIN 1HGCM82633A004352",
            "total 12 345,67 zł",
            "R$ 1.234,56",
            "£1,234.56 including VAT",
            "\u221212.5 °C",
            "1.21 gigawatts",
            "9.81 m/s²",
            "8,848.86 m",
            "Bitcoin at 67,432.10",
        ],
    }
    return [Case("none", text, note=group) for group, texts in cases.items() for text in texts]


def build() -> list[Case]:
    """Every case of the corpus, in a fixed order."""
    return [*_keys(), *_phones(), *_ibans(), *_cards(), *_ips(), *_emails(), *_lookalikes()]


CASES = build()
KINDS = ("key", "phone", "iban", "card", "ip", "email")
_PLACEHOLDER = re.compile(r"\[(key|email|iban|card|ip|phone)\]")


@dataclass
class Tally:
    """Per kind: how many values were masked whole, missed, and look-alikes masked as it."""

    total: int = 0
    caught: int = 0
    false_positives: int = 0
    missed: list[str] | None = None


def measure(redact: Callable[[str], str]) -> tuple[dict[str, Tally], list[str]]:
    """Tallies per kind, and the look-alikes that were masked (one line each)."""
    tallies = {kind: Tally(missed=[]) for kind in KINDS}
    lookalikes_masked: list[str] = []
    for case in CASES:
        redacted = redact(case.text)
        if case.value is None:
            kinds = Counter(_PLACEHOLDER.findall(redacted))
            for kind in kinds:
                tallies[kind].false_positives += 1
            if redacted != case.text:
                lookalikes_masked.append(f"{case.text!r} -> {redacted!r}")
            continue
        tally = tallies[case.kind]
        tally.total += 1
        before, _, after = case.text.partition(case.value)
        if _PLACEHOLDER.fullmatch(redacted[len(before) : len(redacted) - len(after)] or "") and (
            redacted.startswith(before) and redacted.endswith(after)
        ):
            tally.caught += 1
        else:
            assert tally.missed is not None
            tally.missed.append(f"{case.note or case.kind}: {case.value!r} -> {redacted!r}")
    return tallies, lookalikes_masked


def lookalike_count() -> int:
    """How many look-alikes the corpus holds."""
    return sum(case.value is None for case in CASES)


def table(tallies: dict[str, Tally]) -> str:
    """The README's Markdown table."""
    looks = lookalike_count()
    rows = [
        "| kind | values | caught | missed | recall | look-alikes masked as this kind |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for kind, tally in tallies.items():
        missed = tally.total - tally.caught
        rows.append(
            f"| {kind} | {tally.total} | {tally.caught} | {missed} | "
            f"{tally.caught / tally.total:.0%} | {tally.false_positives} of {looks} |"
        )
    return "\n".join(rows)


if __name__ == "__main__":
    from langchain_perceived_error.redaction.redact import redact_text

    result, masked = measure(redact_text)
    print(table(result))
    for kind, tally in result.items():
        for line in tally.missed or []:
            print(f"missed {kind}: {line}")
    for line in masked:
        print(f"false positive: {line}")


def phone_grid(region_sets: dict[str, tuple[str, ...]]) -> str:
    """Phone recall and look-alikes masked, per leniency and region set (README)."""
    import phonenumbers

    from langchain_perceived_error.redaction.redact import PatternRedactor

    rows = [
        "| leniency | regions | phones caught | look-alikes masked as phone |",
        "|---|---|---:|---:|",
    ]
    for leniency in ("POSSIBLE", "VALID", "STRICT_GROUPING", "EXACT_GROUPING"):
        for label, regions in region_sets.items():
            redactor = PatternRedactor(
                phone_regions=regions, phone_leniency=getattr(phonenumbers.Leniency, leniency)
            )
            tally = measure(redactor)[0]["phone"]
            rows.append(
                f"| {leniency} | {label} | {tally.caught} of {tally.total} | "
                f"{tally.false_positives} of {lookalike_count()} |"
            )
    return "\n".join(rows)
