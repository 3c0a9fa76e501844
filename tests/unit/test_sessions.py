import pytest
from hypothesis import given
from hypothesis import strategies as st

from stores.sessions import InvalidSessionId, mint, validate

SECRET = b"unit-test-secret"


def test_minted_ids_validate_and_differ():
    first, second = mint(SECRET), mint(SECRET)
    assert first != second
    assert validate(first, SECRET) == first


@pytest.mark.parametrize(
    ("candidate", "reason"),
    [
        ("not-a-session", "not of the form"),
        ("../../etc/passwd", "not of the form"),
        ("x" * 10_000, "characters long"),
        (None, "must be a string"),
        (12345, "must be a string"),
        ("3f2504e0-4f89-11d3-9a0c-0305e82c3301.00000000000000000000000000000000", "not of the form"),  # uuid1
    ],
)
def test_malformed_ids_are_rejected_with_the_reason(candidate, reason):
    with pytest.raises(InvalidSessionId, match=reason):
        validate(candidate, SECRET)


def test_a_guessed_or_resigned_id_is_rejected():
    genuine = mint(SECRET)
    uuid_part = genuine.split(".")[0]
    with pytest.raises(InvalidSessionId, match="bad signature"):
        validate(uuid_part + "." + "0" * 32, SECRET)
    with pytest.raises(InvalidSessionId, match="bad signature"):
        validate(genuine, b"another-server")


@given(st.text(max_size=200))
def test_no_arbitrary_text_validates(text):
    with pytest.raises(InvalidSessionId):
        validate(text, SECRET)


@given(st.text(alphabet="0123456789abcdef", min_size=32, max_size=32))
def test_no_forged_signature_validates(signature):
    raw = mint(SECRET).split(".")[0]
    with pytest.raises(InvalidSessionId):
        validate(f"{raw}.{signature}", SECRET)
