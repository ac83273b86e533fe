from nucmed.reference import reference_tables


def test_every_table_has_version_and_source_and_flags_unverified_rows() -> None:
    tables = {t.name: t for t in reference_tables()}
    assert all(t.version and t.source for t in tables.values())
    assert len({t.version for t in tables.values()}) == len(tables)
    assert any("123I-mIBG" in item for item in tables["eanm_card"].unverified_items)
    assert any("68Ga" in item for item in tables["eanm_card"].unverified_items)
    assert not any("FDG" in item for item in tables["eanm_card"].unverified_items)
    assert {item.split(":")[0] for item in tables["north_america"].unverified_items} == {"18F-FDG (body)", "18F-NaF", "68Ga-DOTATATE"}
    assert all(item.startswith("I123_MIBG") for item in tables["effective_dose"].unverified_items)


def test_the_inrc_rule_is_listed_with_its_verification_gap() -> None:
    tables = {t.name: t for t in reference_tables()}
    assert "2580-2587" in tables["inrc_mibg_bone"].source and tables["inrc_mibg_bone"].unverified_items
    assert "PERCIST" in tables["voi"].source
