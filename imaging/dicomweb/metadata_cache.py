"""The WADO-RS metadata of a series from one storage read: each instance's DICOM JSON, kept per series.

Building a series' metadata means parsing every stored file (300 for a PET series), which is most of the time the
viewer waits for its first image. Instances are content-addressed and immutable, so an instance's DICOM JSON depends
on its SHA-256 alone, except for its BulkDataURIs (they name the request's base URL): those are kept relative
(``bulkdata/<path>``) and made absolute per request.

A series' headers live in one JSON blob beside the instances, through the storage API (filesystem or S3 alike):
``dicomweb/metadata/<series id>.json`` = ``{"v": VERSION, "headers": {sha256: DICOM JSON}, "bulk": [sha256 of the
headers with a BulkDataURI]}`` (only those are copied to make their URIs absolute; the others are served as loaded). A request reads the
blob once; an instance whose SHA-256 is not in it (new in the series, or the blob not written yet) is read from its
file, and the blob is written again with it. Nothing is ever stale: an entry is the header of exactly those bytes,
so a new instance in a series invalidates nothing but costs one file read, and a concurrent rewrite that loses an
entry costs a file read later. The pipeline run writes the blob at its end from the bytes the run already read.
"""
from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from typing import Any

from pydicom.dataset import Dataset

from imaging import storage
from imaging.models import Instance, Series
from imaging.volume import read_dataset

logger = logging.getLogger(__name__)

VERSION = 2
PREFIX = "dicomweb/metadata"
BULK_DATA_THRESHOLD = 1024  # bytes: binary values longer than this are sent as a BulkDataURI, not inline
RELATIVE = "bulkdata/"

Header = dict[str, Any]


def blob_key(series_id: int) -> str:
    return f"{PREFIX}/{series_id}.json"


def _paths(ds: Dataset, prefix: str = "") -> dict[int, str]:
    """Every element's bulk data path (`TAG` or `TAG/item/TAG`) by the element's identity. Iterating converts the
    raw elements in place, so the later to_json_dict sees these same objects."""
    found: dict[int, str] = {}
    for element in ds:
        path = f"{prefix}{element.tag:08X}"
        if element.VR == "SQ":
            for index, item in enumerate(element.value):
                found.update(_paths(item, f"{path}/{index}/"))
        else:
            found[id(element)] = path
    return found


def header_of(ds: Dataset) -> Header:
    """One instance's headers (read without pixel data) as DICOM JSON, its BulkDataURIs relative (bulkdata/<path>)."""
    paths = _paths(ds)
    return ds.to_json_dict(bulk_data_threshold=BULK_DATA_THRESHOLD,
                           bulk_data_element_handler=lambda element: f"{RELATIVE}{paths[id(element)]}")


def with_base(header: Header, url: str) -> Header:
    """The header with its BulkDataURIs made absolute under the instance's URL (a copy where they are; the cached
    header is not changed)."""
    out: Header = {}
    for tag, element in header.items():
        if "BulkDataURI" in element:
            element = {**element, "BulkDataURI": f"{url}/{element['BulkDataURI']}"}
        elif element.get("vr") == "SQ" and element.get("Value"):
            element = {**element, "Value": [with_base(item, url) for item in element["Value"]]}
        out[tag] = element
    return out


class Found(dict[str, Header]):
    """Headers by SHA-256, and which of them hold a BulkDataURI (`bulk`)."""

    def __init__(self) -> None:
        super().__init__()
        self.bulk: set[str] = set()


def _has_bulk(header: Header) -> bool:
    return any("BulkDataURI" in element or (element.get("vr") == "SQ" and any(_has_bulk(i) for i in element.get("Value", [])))
               for element in header.values())


def _load(series_id: int) -> tuple[dict[str, Header], set[str]]:
    data = storage.read_if_present(blob_key(series_id))
    if data is None:
        return {}, set()
    try:
        blob = json.loads(data)
    except ValueError:  # a damaged blob is rebuilt, never served
        logger.warning("metadata cache of series %s is unreadable; rebuilding it", series_id)
        return {}, set()
    if not isinstance(blob, dict) or blob.get("v") != VERSION or not isinstance(blob.get("headers"), dict):
        return {}, set()
    return blob["headers"], set(blob.get("bulk", []))


def _save(series_id: int, headers: dict[str, Header], bulk: set[str]) -> None:
    blob = {"v": VERSION, "headers": headers, "bulk": sorted(bulk)}
    storage.overwrite(blob_key(series_id), json.dumps(blob, separators=(",", ":")).encode())


def headers(instances: Iterable[Instance]) -> Found:
    """The DICOM JSON of each instance by its SHA-256 (BulkDataURIs relative): one blob read per series, plus one
    file read per instance not cached yet (after which the series' blob is written again)."""
    by_series: dict[int, list[Instance]] = {}
    for inst in instances:
        by_series.setdefault(inst.series_id, []).append(inst)
    out = Found()
    for series_id, members in by_series.items():
        cached, bulk = _load(series_id)
        missing = {inst.sha256: inst for inst in members if inst.sha256 not in cached}
        for sha, inst in missing.items():
            cached[sha] = header_of(read_dataset(inst, pixels=False))
            if _has_bulk(cached[sha]):
                bulk.add(sha)
        if missing:
            _save(series_id, cached, bulk)
        out.update({inst.sha256: cached[inst.sha256] for inst in members})
        out.bulk |= bulk
    return out


def warm(series: Series) -> None:
    """Write the series' blob (the pipeline's last act: the run has the files' bytes already). Never fails the run."""
    from imaging.volume import published_instances

    try:
        headers(published_instances(series))
    except Exception:  # the cache is an optimisation: a request builds what is missing
        logger.exception("metadata cache of series %s was not written", series.pk)
