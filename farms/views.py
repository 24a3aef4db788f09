"""Farmer pages: dashboard, farm -> plot -> planting, adding logs, log history."""
import datetime as dt

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from farms import service
from farms.forms import (ACTIVITY_LABELS, CERTIFICATION_LABELS, INPUT_CATEGORY_LABELS, LOG_KIND_BADGES, LOG_KIND_LABELS,
                         PLOT_KIND_LABELS, START_METHOD_LABELS, FarmForm, FarmInvitationForm, LogCorrectionForm, LogForm,
                         NewLogForm, PlantingForm, PlotForm, VoidLogForm, product_choices)
from web import divisions, registry
from web.clock import from_utc_naive, local_zone
from web.db import ValidationError
from web.forms import submit
from web.permissions import Access, can_create_farm, require
from web.security import login_required

bp = login_required(Blueprint("farms", __name__, template_folder="templates"))

LOGS_PER_PAGE = 30


@bp.app_context_processor
def _labels():
    return {"PLOT_KIND_LABELS": PLOT_KIND_LABELS, "LOG_KIND_LABELS": LOG_KIND_LABELS,
            "LOG_KIND_BADGES": LOG_KIND_BADGES,
            "ACTIVITY_LABELS": ACTIVITY_LABELS, "CERTIFICATION_LABELS": CERTIFICATION_LABELS,
            "INPUT_CATEGORY_LABELS": INPUT_CATEGORY_LABELS, "START_METHOD_LABELS": START_METHOD_LABELS,
            "local_time": from_utc_naive, "division_name": _division_name, "alert_text": service.alert_text}


def _division_name(code):
    division = divisions.get(code)
    return division.name if division else code


def _form_page(template, form, **context):
    return render_template(template, form=form, **context), 422 if form.errors else 200


@bp.get("/dashboard")
def dashboard():
    home = registry.home_endpoint(g.user.role)
    if home != "farms.dashboard":  # bureaus have a home of their own
        return redirect(url_for(home))
    farms = list(service.visible_farms(g.user).order_by(service.Farm.name).limit(50))
    logs = list(service.logs_query(g.user).limit(10))
    alerts = service.open_alerts(g.user, limit=20)
    # Only those who may log on the alert's farm acknowledge it; the others see it read-only.
    can_ack = {a.farm_id for a in alerts if service.access_to(g.user, a.farm) >= Access.LOG}
    # A sensor alarm names its plot: the alert links to it (what the sensor measures, where).
    alert_plots = service.plots_by_id([a.plot_id for a in alerts if a.plot_id])
    return render_template("farms/dashboard.html", farms=farms, logs=logs, alerts=alerts, can_ack=can_ack,
                           alert_plots=alert_plots,
                           farm_invitations=service.farm_invitations_for(g.user),
                           org_invitations=service.organisation_invitations_for(g.user),
                           log_plots=service.plots_of_logs(logs),
                           log_photos=service.photos_of_logs(logs), can_create=can_create_farm(g.user),
                           can_log=bool(service.farm_ids_with_access(g.user, Access.LOG)))


@bp.post("/alerts/<int:alert_id>/ack")
def acknowledge_alert(alert_id):
    service.acknowledge_alert(g.user, alert_id)
    return redirect(url_for("farms.dashboard") + f"#alert-{alert_id}")


@bp.get("/farms/")
def farm_list():
    return redirect(url_for("farms.dashboard"))


@bp.route("/farms/new", methods=["GET", "POST"])
def farm_new():
    if not can_create_farm(g.user):
        abort(403)
    form = FarmForm()
    done = submit(form, lambda: service.create_farm(g.user, form.data), _("The farm has been created."),
                   lambda farm: url_for("farms.farm_page", farm_id=farm.id))
    return done or _form_page("farms/farm_form.html", form, farm=None)


@bp.get("/farms/<int:farm_id>")
def farm_page(farm_id, invite_form=None, status=200):
    farm = service.get_farm(g.user, farm_id)
    access = service.access_to(g.user, farm)
    logs = list(service.logs_query(g.user, farm=farm).limit(10))
    return render_template("farms/farm.html", farm=farm, plots=list(service.plots_of(farm)),
                           access=access, Access=Access, logs=logs, log_plots=service.plots_of_logs(logs),
                           log_photos=service.photos_of_logs(logs),
                           certifications=service.farm_certifications(farm),
                           members=service.farm_members(farm),
                           invitations=service.farm_invitations(g.user, farm) if access >= Access.MANAGE else [],
                           invite_form=invite_form or FarmInvitationForm(),
                           county=divisions.full_name(farm.county_code)), status


@bp.post("/farms/<int:farm_id>/invitations")
def invite(farm_id):
    farm = service.get_farm(g.user, farm_id, Access.MANAGE)
    form = FarmInvitationForm()
    done = submit(form, lambda: service.invite_to_farm(g.user, farm, form.username.data, form.role.data),
                  lambda invitation: _("%(user)s has been invited.", user=invitation.invitee.username),
                  lambda invitation: url_for("farms.farm_page", farm_id=farm.id) + "#people")
    return done or farm_page(farm_id, invite_form=form, status=422)


@bp.post("/farms/<int:farm_id>/invitations/<int:invitation_id>/revoke")
def revoke_invitation(farm_id, invitation_id):
    service.revoke_farm_invitation(g.user, invitation_id)
    flash(_("The invitation has been withdrawn."), "info")
    return redirect(url_for("farms.farm_page", farm_id=farm_id) + "#people")


@bp.post("/farms/<int:farm_id>/members/<int:user_id>/remove")
def remove_member(farm_id, user_id):
    farm = service.get_farm(g.user, farm_id, Access.MANAGE)
    service.remove_member(g.user, farm, user_id)
    flash(_("Removed from the farm."), "info")
    return redirect(url_for("farms.farm_page", farm_id=farm.id) + "#people")


@bp.post("/farm-invitations/<int:invitation_id>/<any(accept, decline):answer>")
def answer_invitation(invitation_id, answer):
    invitation = service.answer_farm_invitation(g.user, invitation_id, accept=answer == "accept")
    if answer == "accept":
        flash(_("You now work on %(farm)s.", farm=invitation.farm.name), "info")
        return redirect(url_for("farms.farm_page", farm_id=invitation.farm_id))
    flash(_("The invitation has been declined."), "info")
    return redirect(url_for("farms.dashboard"))


@bp.route("/farms/<int:farm_id>/edit", methods=["GET", "POST"])
def farm_edit(farm_id):
    farm = service.get_farm(g.user, farm_id, Access.MANAGE)
    form = FarmForm(obj=farm, data={"county_code": farm.county_code,
                                    "certifications": service.farm_certifications(farm)})
    done = submit(form, lambda: service.update_farm(g.user, farm, form.data), _("Saved."),
                   lambda farm: url_for("farms.farm_page", farm_id=farm.id))
    return done or _form_page("farms/farm_form.html", form, farm=farm)


@bp.route("/farms/<int:farm_id>/plots/new", methods=["GET", "POST"])
def plot_new(farm_id):
    farm = service.get_farm(g.user, farm_id, Access.MANAGE)
    form = PlotForm()
    done = submit(form, lambda: service.create_plot(g.user, farm, form.data), _("The plot has been created."),
                   lambda plot: url_for("farms.plot_page", plot_id=plot.id))
    return done or _form_page("farms/plot_form.html", form, farm=farm)


@bp.get("/plots/<int:plot_id>")
def plot_page(plot_id):
    plot = service.get_plot(g.user, plot_id)
    logs = list(service.logs_query(g.user, farm=plot.farm, plot=plot).limit(10))
    return render_template("farms/plot.html", plot=plot, farm=plot.farm,
                           pending=service.pending_safe_interval([plot.id]),
                           access=service.access_to(g.user, plot.farm), Access=Access,
                           plantings=list(service.plantings_of(plot)), logs=logs,
                           log_plots=service.plots_of_logs(logs),
                           log_photos=service.photos_of_logs(logs))


@bp.post("/plots/<int:plot_id>/<any(archive, restore):action>")
def plot_archive(plot_id, action):
    """Archive a plot (its history stays; it takes no new logs) or bring it back, after a confirmation."""
    plot = service.get_plot(g.user, plot_id, Access.MANAGE)
    archive = action == "archive"
    if request.form.get("confirm") != "yes":
        title = _("Archive the plot") if archive else _("Restore the plot")
        message = (_("%(plot)s keeps its plantings and logs but takes no new logs, and is no longer offered "
                     "when adding a log. It can be restored later.", plot=plot.name) if archive
                   else _("%(plot)s takes logs again and is offered when adding a log.", plot=plot.name))
        return render_template("confirm.html", title=title, button=title, message=message, danger=archive,
                               action=url_for("farms.plot_archive", plot_id=plot.id, action=action),
                               cancel=url_for("farms.plot_page", plot_id=plot.id))
    service.archive_plot(g.user, plot, archived=archive)
    flash(_("%(plot)s has been archived.", plot=plot.name) if archive
          else _("%(plot)s has been restored.", plot=plot.name), "info")
    return redirect(url_for("farms.plot_page", plot_id=plot.id))


@bp.route("/plots/<int:plot_id>/plantings/new", methods=["GET", "POST"])
def planting_new(plot_id):
    plot = service.get_plot(g.user, plot_id, Access.LOG)
    form = PlantingForm()
    done = submit(form, lambda: service.create_planting(g.user, plot, form.data),
                   _("The planting has been added."),
                   lambda planting: url_for("farms.planting_page", planting_id=planting.id))
    return done or _form_page("farms/planting_form.html", form, plot=plot, planting=None)


@bp.get("/plantings/<int:planting_id>")
def planting_page(planting_id):
    planting = service.get_planting(g.user, planting_id)
    logs = list(service.logs_query(g.user, farm=planting.plot.farm).where(
        service.Log.planting == planting).limit(20))
    return render_template("farms/planting.html", planting=planting, plot=planting.plot,
                           farm=planting.plot.farm, logs=logs, log_plots=service.plots_of_logs(logs),
                           log_photos=service.photos_of_logs(logs),
                           access=service.access_to(g.user, planting.plot.farm), Access=Access)


@bp.route("/plantings/<int:planting_id>/edit", methods=["GET", "POST"])
def planting_edit(planting_id):
    planting = service.get_planting(g.user, planting_id, Access.LOG)
    form = PlantingForm(obj=planting, data={"crop": planting.crop_id})
    done = submit(form, lambda: service.update_planting(g.user, planting, form.data), _("Saved."),
                   lambda planting: url_for("farms.planting_page", planting_id=planting.id))
    return done or _form_page("farms/planting_form.html", form, plot=planting.plot, planting=planting)


def _log_form(form_class, farm, plots, data, english=False):
    """A log form whose product picker lists the farm's recent products and those registered for
    the plots' crops first; nothing is chosen for the farmer."""
    form = form_class(farm=farm, data=data)
    plot_ids = [p.id for p in plots]
    form.input_product.choices = product_choices(service.input_products(), _english(),
                                                 service.recent_product_ids(farm),
                                                 service.product_ids_for_plots(plot_ids))
    plantings = [p for plot in plots for p in service.plantings_of(plot)]
    form.planting.choices = [("", "—")] + [(p.id, f"{p.crop.name_zh} {p.variety}".strip()) for p in plantings]
    return form


def _english():
    return str(get_locale() or "zh").startswith("en")


def _saved_message(log):
    safe = service.safe_harvest_day(log)
    if safe is not None:
        return _("The log has been saved. Safe to harvest from %(date)s.", date=safe.isoformat())
    if log.kind == "harvest":
        pending = service.pending_safe_interval([p.id for p in service.plots_of_logs([log])[log.id]],
                                                from_utc_naive(log.timestamp).date())
        if pending:
            return _("The log has been saved. The harvest is inside the pre-harvest interval until %(date)s.",
                     date=pending["safe_day"].isoformat())
    return _("The log has been saved.")


def _saved_url(log, plot):
    # A harvest leads to its log, where a batch is made (or the reason it cannot be made yet shows).
    if log.kind == "harvest":
        return url_for("farms.log_page", log_id=log.id)
    return url_for("farms.plot_page", plot_id=plot.id)


@bp.get("/logs/new")
def log_start():
    """"Add a log" from the home screen and the log history: choose the plot (and what was done)."""
    plots = [plot for plot in service.loggable_plots(g.user) if plot.archived_at is None]  # archived: no new logs
    if len(plots) == 1:
        return redirect(url_for("farms.plot_page", plot_id=plots[0].id) + "#add-log")
    return render_template("farms/log_start.html", plots=plots)


@bp.route("/plots/<int:plot_id>/logs/new", methods=["GET", "POST"])
def log_new(plot_id):
    plot = service.get_plot(g.user, plot_id, Access.LOG)
    farm = plot.farm
    kind = request.values.get("kind", "activity")
    if kind not in service.LOG_KINDS:
        abort(404)
    defaults = {"kind": kind, "plots": [plot.id],
                "timestamp": dt.datetime.now(local_zone()).replace(second=0, microsecond=0)}
    active = list(service.plantings_of(plot, include_ended=False))
    if active:
        defaults["planting"] = active[0].id
    if kind == "activity":
        defaults["activity_kind"] = request.args.get("activity", "irrigation")
    # No product is pre-filled: last time's product sits first in the picker, to be chosen.
    if kind == "harvest":  # a suggested lot the farmer may keep or replace: random, not a count
        defaults["lot_number"] = service.suggest_lot()
    if kind == "harvest" and active:
        defaults["unit"] = active[0].crop.default_unit
    form = _log_form(NewLogForm, farm, [plot], defaults)
    # The page's script sends the entry with the UUID it queued it under (the idempotency key): a
    # post whose answer the network lost is stored once when the queue sends it again. (With photos the
    # script sends the entry, photos shrunk on the phone, through the JSON API; without the script the
    # photos come here as the camera made them, and are made safe the same way.)
    done = submit(form, lambda: service.create_log(g.user, farm, form.log_data(), offline=service.offline_entry(
                      request.form.get("client_id"), request.form.get("recorded_at")),
                      photos=_uploaded_photos(form)),
                  _saved_message, lambda log: _saved_url(log, plot))
    pending = service.pending_safe_interval([plot.id]) if kind == "harvest" else None
    return done or _form_page("farms/log_form.html", form, plot=plot, farm=farm, kind=kind, pending=pending)


def _uploaded_photos(form):
    uploads = [f for f in request.files.getlist(form.photos.name) if f and f.filename]
    if len(uploads) > service.PHOTOS_PER_LOG:
        raise ValidationError(_("At most %(n)d photos on one log.", n=service.PHOTOS_PER_LOG),
                              {"photos": _("At most %(n)d photos on one log.", n=service.PHOTOS_PER_LOG)})
    return [service.prepare_photo(upload.read(), keep_location=bool(form.keep_location.data)) for upload in uploads]


@bp.get("/logs/<int:log_id>/photos/<sha256>")
def log_photo(log_id, sha256):
    """A photo of a log (``?size=thumbnail``: its small JPEG), for those who may see the log."""
    from farms.api import photo_response

    data, media_type = service.log_photo(g.user, log_id, sha256, thumbnail=request.args.get("size") == "thumbnail")
    return photo_response(data, media_type)


@bp.route("/logs/<int:log_id>/correct", methods=["GET", "POST"])
def log_correct(log_id):
    log = service.get_log(g.user, log_id)
    require(service.access_to(g.user, log.farm), Access.LOG)
    plots = service.plots_of_logs([log])[log.id]
    if log.voided_at is not None:
        flash(_("This log has been voided already; correct its correction instead."), "error")
        return redirect(url_for("farms.log_page", log_id=log.id))
    data = service.correction_defaults(log, plots)
    form = _log_form(LogCorrectionForm, log.farm, plots, data)
    done = submit(form, lambda: service.correct_log(g.user, log.id, form.data),
                  lambda new: _("The log has been corrected.") + (
                      " " + _("Safe to harvest from %(date)s.", date=service.safe_harvest_day(new).isoformat())
                      if service.safe_harvest_day(new) else ""),
                  lambda new: url_for("farms.log_page", log_id=new.id))
    return done or _form_page("farms/log_form.html", form, plot=plots[0] if plots else None, farm=log.farm,
                              kind=log.kind, correcting=log)


@bp.route("/logs/<int:log_id>/void", methods=["GET", "POST"])
def log_void(log_id):
    log = service.get_log(g.user, log_id)
    require(service.access_to(g.user, log.farm), Access.LOG)
    if log.voided_at is not None:
        flash(_("This log has been voided already; correct its correction instead."), "error")
        return redirect(url_for("farms.log_page", log_id=log.id))
    form = VoidLogForm()
    done = submit(form, lambda: service.void_log(g.user, log.id, form.reason.data), _("The log has been voided."),
                  lambda voided: url_for("farms.log_page", log_id=voided.id))
    return done or _form_page("farms/log_void.html", form, log=log, farm=log.farm)


@bp.get("/logs/")
def log_history():
    farms = list(service.visible_farms(g.user).order_by(service.Farm.name))
    errors = {}
    filters = {}
    farm = plot = None
    if request.args.get("farm"):
        try:
            farm = service.get_farm(g.user, int(request.args["farm"]))
            filters["farm"] = farm.id
        except ValueError:
            errors["farm"] = _("Unknown farm.")
    if request.args.get("plot"):
        try:
            plot = service.get_plot(g.user, int(request.args["plot"]))
            filters["plot"] = plot.id
        except ValueError:
            errors["plot"] = _("Unknown plot.")
    kind = request.args.get("kind") or None
    if kind and kind not in service.LOG_KINDS:
        errors["kind"] = _("Unknown log kind.")
        kind = None
    dates = {}
    for name in ("from", "to"):
        raw = request.args.get(name)
        if raw:
            try:
                dates[name] = dt.date.fromisoformat(raw)
            except ValueError:
                errors[name] = _("Use a date like 2026-05-01.")
    try:
        page = max(1, int(request.args.get("page", 1)))
    except ValueError:
        page = 1
    query = service.logs_query(g.user, farm=farm, plot=plot, kind=kind,
                               since=dates.get("from"), until=dates.get("to"))
    total = query.count()
    logs = list(query.paginate(page, LOGS_PER_PAGE))
    plots = list(service.plots_of(farm)) if farm else []
    return render_template("farms/log_history.html", logs=logs, log_plots=service.plots_of_logs(logs),
                           log_photos=service.photos_of_logs(logs),
                           farms=farms, plots=plots, farm=farm, plot=plot, kind=kind, dates=dates,
                           errors=errors, page=page, total=total, per_page=LOGS_PER_PAGE,
                           can_log=bool(service.farm_ids_with_access(g.user, Access.LOG)))


@bp.get("/logs/<int:log_id>")
def log_page(log_id):
    log = service.get_log(g.user, log_id)
    return render_template("farms/log.html", log=log, farm=log.farm,
                           plots=service.plots_of_logs([log])[log.id],
                           photos=service.photos_of_logs([log])[log.id],
                           can_change=log.voided_at is None and service.access_to(g.user, log.farm) >= Access.LOG,
                           safe_day=service.safe_harvest_day(log) if log.voided_at is None else None)
