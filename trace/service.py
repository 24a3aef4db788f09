"""Traceability: the only door into batches, lineage, journey events and scans.

Journey events are EPCIS 2.0 events. Each is stored as canonical JSON with its
SHA-256, so that the chain domain can anchor the hashes and anyone can recompute
them: ``canonical_json`` is the one serialisation, used for hashing and storage.

The work is done in trace's private modules; other packages import only this one.

- ``_core``: vocabulary, hashing, identities (Digital Link URLs, batch codes)
- ``_access``: acting organisations, which batches a user sees or acts on
- ``_events``: recording and correcting journey events, attachments
- ``_hooks``: the chain domain's event listeners and verifier, and what it reads
- ``_batches``: batches from harvests, split, merge, transform, plot inspections
- ``_lineage``: ancestors, descendants, recall, the journey
- ``_consumer``: scans, the public page, its verification
"""
from trace._access import acting_organisations, get_batch, held_with, holder_names, visible_batches
from trace._bureau import MASS_TO_KG, harvest_batches, harvest_days_of
from trace._bureau import changed_days as bureau_changed_days
from trace._bureau import daily_figures as bureau_daily_figures
from trace._bureau import farm_figures as bureau_farm_figures
from trace._batches import (batch_refusal, batches_recording_log, create_batch, merge, record_plot_inspection, split,
                            transform, unbatched_quantity)
from trace._consumer import (NEW_PLACES_AFTER_SALE_LIMIT, SCANS_PER_HOUR_LIMIT, issue_serials, place_of, public_view,
                             record_scan, scan_stats, serial_issued, verification)
from trace._core import (CODE_ALPHABET, DISPOSITIONS, NS, RECORDABLE_STEPS, TRANSFORMING, UOM, base_url, batch_url,
                         canonical_json, digest, find_by_link, organisation_uri, step_name, verify_event)
from trace._events import ATTACHMENT_MAX_BYTES, correct_event, find_event, record_event, store_attachment
from trace._hooks import (_EVENT_LISTENERS, _VERIFIER, add_event_listener, batch_events, batch_header,  # noqa: F401
                          batch_ids_with_events, event_count, event_record, find_by_code, lineage_ids, rows_digest,
                          set_verifier)
from trace._lineage import ancestor_ids, child_links, descendant_ids, journey, parent_links, recall

__all__ = [
    "MASS_TO_KG", "harvest_batches", "harvest_days_of", "bureau_changed_days", "bureau_daily_figures",
    "bureau_farm_figures",
    "acting_organisations", "get_batch", "held_with", "holder_names", "visible_batches",
    "batch_refusal", "batches_recording_log", "create_batch", "merge", "record_plot_inspection", "split", "transform", "unbatched_quantity",
    "NEW_PLACES_AFTER_SALE_LIMIT", "SCANS_PER_HOUR_LIMIT", "place_of", "public_view", "record_scan", "scan_stats",
    "issue_serials", "serial_issued", "verification",
    "CODE_ALPHABET", "DISPOSITIONS", "NS", "RECORDABLE_STEPS", "TRANSFORMING", "UOM", "base_url", "batch_url",
    "canonical_json", "digest", "find_by_link", "organisation_uri", "step_name", "verify_event",
    "ATTACHMENT_MAX_BYTES", "correct_event", "find_event", "record_event", "store_attachment",
    "add_event_listener", "batch_events", "batch_header", "batch_ids_with_events", "event_count", "event_record",
    "find_by_code", "lineage_ids", "rows_digest", "set_verifier",
    "ancestor_ids", "child_links", "descendant_ids", "journey", "parent_links", "recall",
]
