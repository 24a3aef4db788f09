"""flask --app web chain deploy | anchor-now | verify CODE | rotate-key ORG_ID | status | accounts."""
import json

import click
from flask.cli import AppGroup

from chain import service
from web import db

chain = AppGroup("chain", help="Anchor journey events on the chain, and check them.")


def _registry_and_admin():
    admin = service.admin_account()
    if admin is None:
        raise click.ClickException("set CHAIN_ADMIN_KEY (the account that deploys and grants WRITER)")
    return admin


@chain.command("deploy")
@click.option("--grant-all/--no-grant", default=True, show_default=True,
              help="Grant WRITER to every organisation's current key.")
def deploy_command(grant_all):
    """Deploy the registry once (idempotent) and grant WRITER to the organisations' keys."""
    from chain import registry

    admin = _registry_and_admin()
    try:
        w3 = service.web3()
        known = service.deployment()
        address, deployed = registry.ensure_deployed(w3, admin, known["address"] if known else None)
    except (registry.ChainError, service.ChainUnavailable) as e:
        raise click.ClickException(str(e)) from None
    with db.database.connection_context():
        service.save_deployment(address, w3.eth.chain_id)
        granted = service.grant_all(registry.Registry(w3, address), admin) if grant_all else 0
    click.echo(f"registry {'deployed' if deployed else 'already deployed'} at {address} "
               f"(chain {w3.eth.chain_id}); WRITER granted to {granted} organisation key(s)")


@chain.command("anchor-now")
def anchor_now_command():
    """Run the anchoring job once: seal, build roots, anchor, confirm."""
    with db.database.connection_context():
        report = service.anchor_pending()
    click.echo(f"sealed {report.sealed}, new roots {report.rooted}, anchored {report.anchored}, "
               f"confirmed {report.confirmed}, failed {report.failed}")
    if report.error:
        raise click.ClickException(report.error)


@chain.command("verify")
@click.argument("code")
def verify_command(code):
    """Verify a batch's journey (by its code) against the chain, event by event."""
    with db.database.connection_context():
        batch = service.find_public_batch(code)
        if batch is None:
            raise click.ClickException(f"no batch with the code {code}")
        result = service.verify_report(batch)
    for line in result["events"]:
        click.echo(f"{line['seq']:>4} {line['batch']} {line['step']:<16} {line['state']}")
    for gap in result["missing"]:
        click.echo(f"{gap['seq']:>4} batch {gap['batch']} {'':<16} missing")
    click.echo(f"overall: {result['status']}")
    if result["status"] != "verified":
        raise SystemExit(1)


@chain.command("rotate-key")
@click.argument("organisation_id", type=int)
def rotate_key_command(organisation_id):
    """Give an organisation a new signing key (the old one's signatures still verify for its period)."""
    with db.database.connection_context():
        key = service.rotate_key(organisation_id)
    click.echo(f"organisation {organisation_id} now signs with {key.address}")


@chain.command("status")
def status_command():
    """The outbox, roots by state and the last error."""
    with db.database.connection_context():
        click.echo(json.dumps(service.status(), indent=2, default=str))


@chain.command("accounts")
@click.option("--toml", is_flag=True, help="Print Besu's accounts-allowlist line instead.")
def accounts_command(toml):
    """Every account that sends transactions (the admin and each organisation's key), for the account
    allowlist of a permissioned network."""
    with db.database.connection_context():
        accounts = service.sending_accounts()
    if toml:
        click.echo("accounts-allowlist=[" + ",".join(f'"{address}"' for address, _who in accounts) + "]")
    else:
        for address, who in accounts:
            click.echo(f"{address}  {who}")
