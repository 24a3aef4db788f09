"""Farm management: the only door into farms, plots, plantings and the farm log.

Every function that acts for a user takes that user and checks access
through ``web.permissions``; callers never filter farms themselves.

The work is done in farms' private modules; other packages import only this one.

- ``_access``: the farms a user sees, roles and access, lookups by id that check it
- ``_farms``: farms, their certifications, members and invitations
- ``_plots``: plots and plantings, what other domains read of a plot, the catalogues
- ``_logs``: recording a log (checked in full first) and the system's observations
- ``_offline``: entries made on a phone offline, stored once per UUID (idempotency)
- ``_logphotos``: photos on observation and input logs, stored once by SHA-256, served and cited
- ``_corrections``: voiding and correcting saved logs
- ``_logbook``: reading the farm log, pesticide applications and safe intervals
- ``_traceability``: what traceability reads (harvest records, log lineage, the public farm)
- ``_inbox``: the alerts a user sees and acknowledges, farms for matching weather warnings
- ``_lots``: suggested lot numbers
- ``_bureau``: figures for the agriculture bureau

The alert inbox itself (``farms.alerts``) and the notification of alerts (``farms.notify``) are
reached through here too.
"""
import datetime as dt  # noqa: F401 (callers build times with service.dt)

from farms import alerts, notify
from farms._access import (access_to, access_to_farm_id, farm_ids_with_access, get_farm, get_log, get_planting,
                           get_plot, member_role, sees_every_farm, visible_farm_ids, visible_farms)
from farms._bureau import (bureau_changed_days, bureau_daily_figures, bureau_farm_points, bureau_farms,
                           bureau_stock_figures, crop_names, farm_counties, plot_farms)
from farms._corrections import correct_log, correction_defaults, void_log
from farms._farms import (add_member, answer_farm_invitation, certifications_of, create_farm, farm_certifications,
                          farm_invitations, farm_invitations_for, farm_members, invite_to_farm,
                          organisation_invitations_for, remove_member, revoke_farm_invitation, update_farm)
from farms._inbox import acknowledge_alert, farms_for_matching, get_alert, open_alerts
from farms._logbook import (input_applications, loggable_plots, logs_query, pending_safe_interval, plots_of_logs,
                            product_ids_for_plots, recent_product_ids, safe_harvest_day)
from farms._logs import REQUIRED_BY_KIND, create_log, record_observation
from farms._logphotos import PHOTO_COLUMNS, log_photo, photo_attachment, photos_of_logs, prepare_photo
from farms._lots import LOT_ALPHABET, suggest_lot
from farms._offline import RECORDED_AT_FUTURE, RECORDED_AT_PAST, OfflineEntry, offline_entry
from farms._plots import (archive_plot, area_to_m2, create_planting, create_plot, crops, crops_on_farm,
                          input_products, load_catalogues, plantings_of, plot_by_id, plot_profile, plots_by_id,
                          plots_of, update_planting, update_plot)
from farms._traceability import HarvestRecord, harvest_log_ids, harvest_record, log_lineage, public_farm
from farms.photos import PHOTO_MAX_BYTES, PHOTO_MAX_SIDE, PHOTOS_PER_LOG, PreparedPhoto
# What callers read of the models through the door (vocabularies, and the query classes farms' own pages order by).
from farms.models import (ALERT_LEVELS, CROP_CATEGORIES, LOG_KINDS, MU_IN_M2, PESTICIDE_CATEGORIES,  # noqa: F401
                          PLOT_KINDS, Alert, Farm, Log)

# ---------------------------------------------------------------- alerts (sensor alarms and weather warnings)
# The inbox (farms.alerts) and the notification of alerts (farms.notify) are reached through here.

raise_alert = alerts.raise_alert
clear_alerts = alerts.clear_alerts
open_alert_keys = alerts.open_alert_keys
alert_text = alerts.alert_text
farm_people = alerts.farm_people
notify_alert = notify.notify_alert
notification_preferences = notify.preferences
save_notification_preferences = notify.save_preferences

__all__ = [
    "access_to", "access_to_farm_id", "farm_ids_with_access", "get_farm", "get_log", "get_planting", "get_plot",
    "member_role", "sees_every_farm", "visible_farm_ids", "visible_farms",
    "bureau_changed_days", "bureau_daily_figures", "bureau_farm_points", "bureau_farms", "bureau_stock_figures",
    "crop_names", "farm_counties", "plot_farms",
    "correct_log", "correction_defaults", "void_log",
    "add_member", "answer_farm_invitation", "certifications_of", "create_farm", "farm_certifications",
    "farm_invitations", "farm_invitations_for", "farm_members", "invite_to_farm", "organisation_invitations_for",
    "remove_member", "revoke_farm_invitation", "update_farm",
    "acknowledge_alert", "farms_for_matching", "get_alert", "open_alerts",
    "input_applications", "loggable_plots", "logs_query", "pending_safe_interval", "plots_of_logs",
    "product_ids_for_plots", "recent_product_ids", "safe_harvest_day",
    "REQUIRED_BY_KIND", "create_log", "record_observation",
    "PHOTO_COLUMNS", "log_photo", "photo_attachment", "photos_of_logs", "prepare_photo",
    "PHOTO_MAX_BYTES", "PHOTO_MAX_SIDE", "PHOTOS_PER_LOG", "PreparedPhoto",
    "LOT_ALPHABET", "suggest_lot",
    "RECORDED_AT_FUTURE", "RECORDED_AT_PAST", "OfflineEntry", "offline_entry",
    "archive_plot", "area_to_m2", "create_planting", "create_plot", "crops", "crops_on_farm", "input_products",
    "load_catalogues", "plantings_of", "plot_by_id", "plot_profile", "plots_by_id", "plots_of", "update_planting",
    "update_plot",
    "HarvestRecord", "harvest_log_ids", "harvest_record", "log_lineage", "public_farm",
    "ALERT_LEVELS", "CROP_CATEGORIES", "LOG_KINDS", "MU_IN_M2", "PESTICIDE_CATEGORIES", "PLOT_KINDS",
    "Alert", "Farm", "Log",
    "alerts", "notify", "raise_alert", "clear_alerts", "open_alert_keys", "alert_text", "farm_people",
    "notify_alert", "notification_preferences", "save_notification_preferences",
]
