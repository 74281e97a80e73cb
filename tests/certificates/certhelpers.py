"""Builders shared by the certificate tests: a real activity, a completion, keys and ids from seeds."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime
from decimal import Decimal

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ce_xblock.core import certificate as cert
from ce_xblock.core.activity import (
    Accreditation,
    Accreditor,
    Activity,
    Choice,
    CreditType,
    DeliveryFormat,
    LearnerDetail,
    LearningObjective,
    Level,
    Question,
    Sponsor,
)
from ce_xblock.core.credit import Completion, LearnerDetails

BASE_URL = "https://ce.example.org/verify"
ISSUED_AT = datetime(2026, 3, 4, 15, 30, tzinfo=UTC)

ALL_DETAILS = (
    LearnerDetail.LEGAL_NAME,
    LearnerDetail.LICENSE_NUMBER,
    LearnerDetail.LICENSE_STATE,
    LearnerDetail.PROFESSION,
)


def make_activity(**changes) -> Activity:
    activity = Activity(
        id="ethics-telehealth",
        title="Ethics of Telehealth Practice",
        version="3",
        format=DeliveryFormat.SELF_PACED_ONLINE,
        level=Level.INTERMEDIATE,
        duration_minutes=120,
        objectives=(LearningObjective("lo1", "Identify confidentiality risks."),),
        sponsor=Sponsor(name="Example CE Institute", signatory_name="Jo Lee", signatory_title="CE Director"),
        accreditations=(
            Accreditation(
                Accreditor.APA,
                "1234",
                Decimal("2"),
                CreditType.ETHICS,
                approval_start=date(2025, 1, 1),
                approval_end=date(2027, 12, 31),
            ),
            Accreditation(
                Accreditor.ASWB_ACE,
                "1789",
                Decimal("2"),
                CreditType.ETHICS,
                approval_start=date(2024, 6, 1),
                approval_end=date(2027, 5, 31),
                required_details=ALL_DETAILS,
            ),
            Accreditation(Accreditor.NBCC, "6543", Decimal("2"), CreditType.GENERAL),
            Accreditation(Accreditor.NAADAC, "98765", Decimal("2"), CreditType.CLINICAL),
            Accreditation(
                Accreditor.STATE_BOARD,
                "BHEC-0042",
                Decimal("2"),
                CreditType.LAWS_AND_RULES,
                body_name="Texas Behavioral Health Executive Council",
                state="TX",
                statement="Approved by the Texas BHEC for 2 hours of laws-and-rules CE, approval BHEC-0042.",
            ),
        ),
        questions=(Question("q1", "Which is a risk?", (Choice("a", "Overhearing", True), Choice("b", "Encryption"))),),
        attestation="I attest that I completed this activity myself.",
        min_minutes=60,
    )
    return activity.replace(**changes) if changes else activity


def make_completion(name: str = "Zoë Łukasiewicz-Nguyễn", **changes) -> Completion:
    base = dict(
        learner=LearnerDetails(
            legal_name=name, license_number="LCSW-12345", license_state="TX", profession="Social Worker"
        ),
        started_at=datetime(2026, 3, 3, 9, 0, tzinfo=UTC),
        completed_at=datetime(2026, 3, 3, 12, 0, tzinfo=UTC),
        passed=True,
        evaluation_submitted=True,
        attested=True,
    )
    base.update(changes)
    return Completion(**base)


def key_from_seed(seed: str) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(hashlib.sha256(seed.encode()).digest())


def id_from_seed(seed: str) -> str:
    return cert.new_certificate_id(hashlib.sha256(seed.encode()).digest())
