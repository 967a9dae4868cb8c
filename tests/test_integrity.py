from __future__ import annotations

import base64
import hashlib

import pytest
from weir.core.errors import IntegrityError
from weir.core.npm.integrity import Integrity, pick

DATA = b"tarball bytes"
OTHER = b"other bytes"


def sri(alg: str, data: bytes = DATA) -> str:
    return f"{alg}-{base64.b64encode(hashlib.new(alg, data).digest()).decode()}"


def check(integrity: Integrity, data: bytes) -> bool:
    hasher = integrity.hasher()
    for i in range(0, len(data), 4):  # streaming, in small chunks
        hasher.update(data[i : i + 4])
    return integrity.match(hasher.digests()) is not None


def test_sha1_only_shasum_verifies() -> None:
    integrity = Integrity.parse(None, hashlib.sha1(DATA).hexdigest())
    assert integrity.algorithm == "sha1"
    assert check(integrity, DATA)
    assert not check(integrity, OTHER)


def test_multi_hash_uses_strongest_and_accepts_options() -> None:
    integrity = Integrity.parse(f"{sri('sha1')} {sri('sha512')}?foo=bar {sri('sha256')}")
    assert integrity.algorithm == "sha512"
    assert check(integrity, DATA)


def test_strongest_algorithm_decides_even_when_weaker_one_matches() -> None:
    integrity = Integrity.parse(f"{sri('sha1')} {sri('sha512', OTHER)}")
    assert not check(integrity, DATA)


def test_any_match_among_hashes_of_the_chosen_algorithm() -> None:
    integrity = Integrity.parse(f"{sri('sha512', OTHER)} {sri('sha512', DATA)}")
    assert check(integrity, DATA)
    assert check(integrity, OTHER)
    assert not check(integrity, b"third")


@pytest.mark.parametrize(
    ("value", "shasum"),
    [
        ("", None),
        (None, None),
        ("   ", ""),
        ("md5-" + base64.b64encode(hashlib.md5(DATA).digest()).decode(), None),
        ("garbage", None),
        ("sha512-notbase64!!", None),
        ("sha512-" + base64.b64encode(b"short").decode(), None),
        (None, "xyz"),
    ],
)
def test_empty_unknown_or_garbage_is_a_hard_error(value: str | None, shasum: str | None) -> None:
    with pytest.raises(IntegrityError):
        Integrity.parse(value, shasum)


def test_mismatch_error_names_package_version_url_expected_actual() -> None:
    integrity = Integrity.parse(sri("sha512"))
    hasher = integrity.hasher()
    hasher.update(OTHER)
    with pytest.raises(IntegrityError) as err:
        integrity.verify(hasher.digests(), package="left-pad", version="1.3.0", url="http://r/left-pad.tgz")
    text = str(err.value)
    assert "left-pad@1.3.0" in text and "http://r/left-pad.tgz" in text
    assert sri("sha512") in text and sri("sha512", OTHER) in text
    assert "remove the entry from package-lock.json" in text
    assert err.value.exit_code == 6


def test_pick_lockfile_and_packument_disagree_is_an_error_before_download() -> None:
    with pytest.raises(IntegrityError) as err:
        pick(sri("sha512"), sri("sha512", OTHER), None, package="a", version="1.0.0")
    assert "a@1.0.0" in str(err.value)


def test_pick_disagreement_on_sha1_shasum() -> None:
    with pytest.raises(IntegrityError):
        pick(sri("sha1"), None, hashlib.sha1(OTHER).hexdigest(), package="a", version="1.0.0")


def test_pick_strongest_and_keeps_old_lockfile_pin() -> None:
    integrity = pick(sri("sha1"), sri("sha512"), hashlib.sha1(DATA).hexdigest())
    assert integrity.checked == ("sha512", "sha1")  # strongest decides, the old sha1 pin still holds
    assert check(integrity, DATA)
    integrity = pick(sri("sha512"), sri("sha512"), hashlib.sha1(DATA).hexdigest())
    assert integrity.checked == ("sha512",)
    integrity = pick(sri("sha1"), sri("sha512"), None)
    assert integrity.checked == ("sha512", "sha1")
    assert check(integrity, DATA)
    lying = pick(sri("sha1", OTHER), sri("sha512"), None)
    assert not check(lying, DATA) and not check(lying, OTHER)


def test_pick_from_either_side_alone_and_neither_is_an_error() -> None:
    assert pick(None, sri("sha512"), None).algorithm == "sha512"
    assert pick(sri("sha256"), None, None).algorithm == "sha256"
    with pytest.raises(IntegrityError):
        pick(None, None, None, package="a", version="1.0.0")
