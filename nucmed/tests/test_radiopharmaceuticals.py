import pytest

from nucmed.radiopharmaceuticals import BY_CODE, identify


@pytest.mark.parametrize(("text", "half_life", "code"), [
    ("Fludeoxyglucose F^18^", 6586.2, "F18_FDG"),
    ("Sodium fluoride F^18^", 6586.2, "F18_NAF"),
    ("Ga-68 DOTATATE", 4062.6, "GA68_DOTATATE"),
    ("I-123 MIBG", 47592.0, "I123_MIBG"),
    ("131I-MIBG therapy", 692928.0, "I131_MIBG"),
    ("", 4062.6, "GA68_DOTATATE"),  # name missing: the half-life alone is unambiguous for Ga-68
])
def test_identify(text: str, half_life: float, code: str) -> None:
    agent = identify(text, half_life)
    assert agent is not None and agent.code == code


def test_unknown_or_inconsistent_is_not_guessed() -> None:
    assert identify("Tc-99m MDP", 21624.0) is None
    assert identify("FDG", 4062.6) is None  # the name says F-18 but the half-life is Ga-68's
    assert identify("", 6586.2) is None  # F-18 alone could be FDG or NaF


def test_half_lives() -> None:
    assert BY_CODE["F18_FDG"].half_life_s == 6586.2 and BY_CODE["I123_MIBG"].half_life_s == 47592.0
