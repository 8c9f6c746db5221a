"""The `tracker` command line: a click group; each command lives in its own module."""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from tracker import __version__
from tracker._terminal import error_line, inert_json, redact_url, safe_text
from tracker.errors import TrackerError

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

            # Exception messages quote feeds and URLs: the traceback is shown as safely as the line.
            sys.stderr.write(safe_text(redact_url("".join(traceback.format_exception(self.exc)))))
        click.echo(error_line(self.message), err=True)


class TrackerGroup(click.Group):
    """A group that turns every error into one line with its exit code (2 usage or config, else 1)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except TrackerError as exc:
            verbose = isinstance(ctx.obj, CliState) and ctx.obj.verbosity > 0
            raise _Failed(exc, exc.exit_code, verbose) from exc

    def main(  # one signature for both of click's overloads
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        # click's own usage errors print a usage block and "Error: ..."; tracker's style
        # is one line, whichever part of the command line was wrong.
        try:
            result = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except _Failed as exc:
            exc.show()
            sys.exit(exc.exit_code)
        except click.UsageError as exc:
            hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
            click.echo(error_line(exc.format_message()) + hint, err=True)
            sys.exit(exc.exit_code)
        except click.ClickException as exc:
            click.echo(error_line(exc.format_message()), err=True)
            sys.exit(exc.exit_code)
        except click.Abort:
            click.echo(error_line("aborted"), err=True)
            sys.exit(1)
        sys.exit(result if isinstance(result, int) else 0)


@click.group(name="tracker", cls=TrackerGroup, context_settings={"help_option_names": ["-h", "--help"]})
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


class SafeFormatter(logging.Formatter):
    """Log lines that quote feed content or URLs, made as safe as any other output.

    A message is one line (a feed's title or link with a line break in it cannot forge a
    second log line), with controls and bidi made inert and credentials in URLs shown as
    ***; a traceback keeps its lines, made inert and redacted the same way.
    """

    def formatMessage(self, record: logging.LogRecord) -> str:
        return safe_text(redact_url(super().formatMessage(record)), one_line=True)

    def formatException(self, ei: Any) -> str:
        return safe_text(redact_url(super().formatException(ei)))

    def formatStack(self, stack_info: str) -> str:
        return safe_text(redact_url(super().formatStack(stack_info)))


LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure_logging(verbosity: int) -> None:
    """tracker's own messages at INFO (DEBUG with -v, WARNING with -q); libraries only warn unless -vv."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(SafeFormatter(LOG_FORMAT))
    logging.basicConfig(
        level=logging.INFO if verbosity > 1 else logging.WARNING,
        handlers=[handler],
        force=True,
    )
    own = logging.DEBUG if verbosity > 0 else logging.INFO if verbosity == 0 else logging.WARNING
    logging.getLogger("tracker").setLevel(own)


def state(ctx: click.Context) -> CliState:
    """The CliState of the running invocation."""
    obj = ctx.find_root().obj
    assert isinstance(obj, CliState)
    return obj


# -- -v and -q after the command name too ------------------------------------------------

# Parameter names no command uses: popped before the command's callback sees its params.
_MORE, _LESS = "_tracker_verbose", "_tracker_quiet"


def _verbosity_options() -> list[click.Parameter]:
    return [
        click.Option(["-v", "--verbose", _MORE], count=True, help="More logging (adds to a -v before the command)."),
        click.Option(["-q", "--quiet", _LESS], count=True, help="Less output (adds to a -q before the command)."),
    ]


def _apply_verbosity(ctx: click.Context) -> None:
    """Add this command's -v/-q to the group's, before anything runs: the counts add up."""
    change = ctx.params.pop(_MORE, 0) - ctx.params.pop(_LESS, 0)
    obj = ctx.find_root().obj
    if change and isinstance(obj, CliState):
        obj.verbosity += change
        configure_logging(obj.verbosity)


class _Verbosity(click.Command):
    """Adds -v/-q to a command or group, applied before it runs."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.params.extend(_verbosity_options())

    def invoke(self, ctx: click.Context) -> Any:
        _apply_verbosity(ctx)
        return super().invoke(ctx)


class TrackerCommand(_Verbosity):
    """A command that also takes -v/-q after its name: `tracker poll -q` is `tracker -q poll`."""


class TrackerSubGroup(_Verbosity, click.Group):
    """A command group under `tracker` (db, digest): -v/-q after its name, and its commands'."""

    command_class = TrackerCommand
    group_class = type  # its own subgroups are TrackerSubGroups too


# Set here rather than in TrackerGroup's body: these classes need CliState and logging.
TrackerGroup.command_class = TrackerCommand
TrackerGroup.group_class = TrackerSubGroup


def main(argv: list[str] | None = None) -> None:
    """Entry point of the `tracker` console script and `python -m tracker`."""
    cli.main(args=argv, prog_name="tracker")


def echo_json(data: Any) -> None:
    """Print data as indented JSON (UTF-8, no ASCII escaping but for what a terminal acts on)."""
    import json

    click.echo(inert_json(json.dumps(data, ensure_ascii=False, indent=2)))


# Each module registers its commands on `cli` when imported.
from tracker.cli import _commands  # noqa: E402,F401
