"""``iac scan|fix``: model pins in infrastructure code. The commands are shared/iac/cli.py's; here, their help and
the first line every command says (the state it reads)."""

from __future__ import annotations

from shared.cli.args import Subcommands, describe_command
from shared.cli.context import prog, with_state_line

# description and example of each command (--help): (description, example lines)
HELP: dict[str, tuple[str, str]] = {
    "iac": (
        "Model pins in infrastructure code: Bicep, Terraform, ARM templates.",
        "modelwatch iac scan infra --state sqlite:///.modelwatch/state.db --fail-on retired,drift",
    ),
    "iac scan": (
        "Find every Azure OpenAI deployment in Bicep, Terraform and ARM templates and judge each pinned version "
        "against the catalog (--catalog-file, else the state, else the bundled sample).",
        "modelwatch iac scan infra -o sarif --out pins.sarif\n"
        "modelwatch iac scan infra --catalog-file catalog.json --fail-on retiring --within 90",
    ),
    "iac fix": (
        "Rewrite each pin to its recommendation and print the diff.",
        "modelwatch iac fix infra --dry-run",
    ),
}


def register(subparsers: Subcommands) -> None:
    """Add ``iac scan`` and ``iac fix`` (shared/iac/cli.py: heavy, imported only when the parser is built)."""
    from shared.iac import cli

    cli.register(subparsers)  # type: ignore[arg-type]  # typed with argparse's own class; the same object
    iac = subparsers.choices["iac"]
    describe_command(iac, HELP["iac"], prog())
    for name, p in iac.subcommands().items():
        describe_command(p, HELP[f"iac {name}"], prog())
        if p.get_default("handler"):
            p.set_defaults(handler=with_state_line(p.get_default("handler")))
