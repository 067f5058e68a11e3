"""A command line into its command and that command's parsed flags, or its help, or one line
saying what is wrong with it (a JazzFlaxError): an unknown command, a flag of another command, a
config that cannot be loaded, a bad `--config.KEY=VALUE`. Light, as `options` is."""

from __future__ import annotations

import difflib

from absl import flags

from jazz_flax.cli.options import COMMANDS, HELP, OTHERS, PROG, flags_of, with_files
from jazz_flax.errors import JazzFlaxError

SETTINGS_HINT = "see the settings in the --config file"
CONFIG_HINT = "a config file is Python defining get_config() that returns a ConfigDict"
QUOTES = "'\""


def command_of(words: list[str]) -> str:
    """The command, the first word; a JazzFlaxError when it is not one."""
    names = [*COMMANDS, *OTHERS]
    if words and words[0] in names:
        return words[0]
    close = difflib.get_close_matches(words[0], names, n=1) if words else []
    given = f"got {words[0]!r}" if words else "got none"
    raise JazzFlaxError(
        f"give a command first, one of {', '.join(names)}; {given}",
        hint=f"did you mean {close[0]}?" if close else f"{PROG} --help",
    )


def parse(command: str, words: list[str]) -> flags.FlagValues:
    """The flags of `command` parsed from `words` (those after it); a JazzFlaxError for an
    argument that is not one of its flags or a config that cannot be loaded."""
    argv = [f"{PROG} {command}", *words]
    argv = with_files(with_files(argv, "config"), "sweep", "sweeps")
    fv = flags_of(command, argv)
    try:
        rest = fv(argv)
    except Exception as e:
        if "--debug" in words:
            raise
        raise flag_error(e, command, fv) from None
    if rest[1:]:
        raise JazzFlaxError(
            f"{command} takes flags only; got {' '.join(map(repr, rest[1:]))}",
            hint=f"one command at a time; {PROG} {command} --help lists its flags",
        )
    return fv


def wants_help(words: list[str]) -> bool:
    return any(word in HELP for word in words)


def flag_error(e: Exception, command: str, fv: flags.FlagValues) -> JazzFlaxError:
    """The error of a command line absl could not parse, worded for the user."""
    if isinstance(e, flags.UnrecognizedFlagError) and e.flagname.startswith("config."):
        return unknown_setting(e.flagname.removeprefix("config."), [])
    if isinstance(e, flags.UnrecognizedFlagError):
        return unknown_flag(e.flagname, command, fv)
    if isinstance(e, AttributeError | KeyError) and "get_config" not in str(e):
        key, *suggestion = str(_innermost(e)).splitlines()  # 'n_aa' \n Did you mean "n_a"…?
        return unknown_setting(key.strip(QUOTES), suggestion)
    if isinstance(e, flags.Error):
        hint = SETTINGS_HINT if "--config." in str(e) else f"{PROG} {command} --help"
        return JazzFlaxError(str(e), hint=hint)
    return JazzFlaxError(f"cannot load the config file: {type(e).__name__}: {e}", hint=CONFIG_HINT)


def unknown_flag(name: str, command: str, fv: flags.FlagValues) -> JazzFlaxError:
    """A flag `command` lacks: another command's (named), or a misspelling of one of its own."""
    bare = name.removeprefix("no")  # --nobass: the boolean flag bass
    owners = [
        other
        for other in COMMANDS
        if other != command and {name, bare} & set(flags_of(other, [PROG]))
    ]
    if owners:
        return JazzFlaxError(
            f"--{name} is a flag of {' and '.join(owners)}, not of {command}",
            hint=f"{PROG} {command} --help lists {command}'s flags",
        )
    close = difflib.get_close_matches(name, list(fv), n=1)
    hint = f"did you mean --{close[0]}?" if close else f"{PROG} {command} --help lists them"
    return JazzFlaxError(f"unknown flag --{name} of {command}", hint=hint)


def unknown_setting(key: str, suggestion: list[str]) -> JazzFlaxError:
    """ml_collections: a key the config lacks, with its suggestion of a close one."""
    first = suggestion[0].strip() if suggestion else ""
    hint = first[:1].lower() + first[1:] if first else SETTINGS_HINT  # "Did you mean "Tx"…"
    return JazzFlaxError(f"unknown config setting {key!r}", hint=hint)


def _innermost(error: BaseException):
    """The message under an exception wrapped in others (ml_collections: a KeyError in an
    AttributeError)."""
    while error.args and isinstance(error.args[0], BaseException):
        error = error.args[0]
    return error.args[0] if error.args else error


# ---------------------------------------------------------------------------------------------
# Help


def overview(doc: str) -> str:
    """The top-level help: `doc`, then each command in one line."""
    width = max(map(len, [*COMMANDS, *OTHERS]))
    lines = [f"  {name:<{width}}  {spec.summary}" for name, spec in COMMANDS.items()]
    lines += [f"  {name:<{width}}  {summary}" for name, (_, summary) in OTHERS.items()]
    return f"{doc.strip()}\n\ncommands:\n" + "\n".join(lines) + f"\n\n{PROG} COMMAND --help"


def command_help(command: str) -> str:
    """`command`'s usage and its flags, one line each, with their defaults."""
    spec, fv = COMMANDS[command], flags_of(command, [PROG])
    lines = [f"usage: {PROG} {command} {spec.usage}", "", spec.summary, "", "flags:"]
    for name in fv:
        flag = fv[name]
        shown = f"--[no]{name}" if flag.boolean else f"--{name}"
        unset = flag.default is None or flag.default is False or flag.default == []
        default = "" if unset else f" (default: {flag.default})"
        lines.append(f"  {shown:<24} {flag.help}{default}")
    return "\n".join(lines)
