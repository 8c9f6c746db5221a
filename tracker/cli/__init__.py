"""The `tracker` command line: a click group; each command lives in its own module."""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from tracker import __version__
from tracker.errors import ConfigError, TrackerError

if TYPE_CHECKING:
    from tracker.config import Config


@dataclass
class CliState:
    """What the group options decided; commands load the config only when they need it."""

    config_path: Path | None
    verbosity: int
    _config: Config | None = field(default=None, repr=False)

    @property
    def config(self) -> Config:
        if self._config is None:
            from tracker.config import load_config, resolve_config_path

            self._config = load_config(resolve_config_path(self.config_path))
        return self._config


class _Failed(click.ClickException):
    """An expected TrackerError, shown as one line with its exit code."""

    def __init__(self, exc: TrackerError, exit_code: int, verbose: bool) -> None:
        super().__init__(str(exc))
        self.exit_code = exit_code  # type: ignore[misc]  # click declares it on the class
        self.exc = exc
        self.verbose = verbose

    def show(self, file: Any = None) -> None:
        if self.verbose:
            import traceback

            traceback.print_exception(self.exc, file=sys.stderr)
        click.echo(f"tracker: error: {self.message}", err=True)


class TrackerGroup(click.Group):
    """A group that turns TrackerError into one clear line: exit 2 for config, else 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except TrackerError as exc:
            verbose = isinstance(ctx.obj, CliState) and ctx.obj.verbosity > 0
            raise _Failed(exc, 2 if isinstance(exc, ConfigError) else 1, verbose) from exc


@click.group(cls=TrackerGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="feeds.yaml to use (default: $TRACKER_CONFIG, else ./feeds.yaml).",
)
@click.option("-v", "--verbose", count=True, help="More logging; -v also shows tracebacks.")
@click.option("-q", "--quiet", count=True, help="Less output.")
@click.version_option(__version__, prog_name="tracker")
@click.pass_context
def cli(ctx: click.Context, config_path: Path | None, verbose: int, quiet: int) -> None:
    """Follow news feeds, extract dated events and keep a merged timeline.

    \b
    Examples:
      tracker poll                      # fetch every feed now
      tracker timeline --topic sora     # the timeline of one topic
      tracker extract --published 2024-03-23 article.txt
    """
    verbosity = verbose - quiet
    configure_logging(verbosity)
    ctx.obj = CliState(config_path=config_path, verbosity=verbosity)


def configure_logging(verbosity: int) -> None:
    """tracker's own messages at INFO (DEBUG with -v, WARNING with -q); libraries only warn unless -vv."""
    logging.basicConfig(
        level=logging.INFO if verbosity > 1 else logging.WARNING,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        force=True,
    )
    own = logging.DEBUG if verbosity > 0 else logging.INFO if verbosity == 0 else logging.WARNING
    logging.getLogger("tracker").setLevel(own)


def state(ctx: click.Context) -> CliState:
    """The CliState of the running invocation."""
    obj = ctx.find_root().obj
    assert isinstance(obj, CliState)
    return obj


def main(argv: list[str] | None = None) -> None:
    """Entry point of the `tracker` console script and `python -m tracker`."""
    cli.main(args=argv, prog_name="tracker")


def echo_json(data: Any) -> None:
    """Print data as indented JSON (UTF-8, no ASCII escaping)."""
    import json

    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


# Each module registers its commands on `cli` when imported.
from tracker.cli import _commands  # noqa: E402,F401
