import uuid

from llmledger.ids import uuid7


def test_uuid7_is_version_7_rfc_variant_and_time_ordered():
    a = uuid7(1_700_000_000_000, 2**74 - 1)
    b = uuid7(1_700_000_000_001, 0)
    assert a.version == 7 and b.version == 7
    assert a.variant == uuid.RFC_4122
    assert a < b  # later millisecond sorts later whatever the random bits
    assert a.int >> 80 == 1_700_000_000_000


def test_uuid7_defaults_are_unique():
    assert len({uuid7() for _ in range(1000)}) == 1000
