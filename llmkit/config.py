"""Configuration files: find one, read it, resolve `${VAR}`, check it, and report every problem.

    import llmkit

    registry = llmkit.load()                 # or llmkit.load("team.yaml")
    coder = registry.client("coder")
    reply = coder.generate_sync("Write a haiku about retries")

Discovery order: an explicit path, `$LLMKIT_CONFIG`, `./llmkit.yaml`, then the user's
folder (`$XDG_CONFIG_HOME/llmkit/`, by default `~/.config/llmkit/`), where `config.yaml`
is the default and `<name>.yaml` a named configuration. The keys are documented on the
classes of `llmkit._config_schema` and in `docs/configuration.md`. This module reads files
and the environment; it builds no provider and does not import `llmkit.registry` (the
registry imports it): the names a provider's `type` and a client's `family` may take are
passed in (`llmkit.load` and `llmkit config validate` pass the registry's).
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from attrs import evolve, frozen

from llmkit._config_schema import (
    SECRET_KEYS,
    ClientConfig,
    Config,
    ProviderConfig,
    structure,
    unknown_keys,
)
from llmkit._hints import did_you_mean
from llmkit.errors import ConfigurationError, redact

__all__ = [
    "ClientConfig",
    "Config",
    "ConfigFileError",
    "ConfigWarning",
    "Problem",
    "ProviderConfig",
    "Validation",
    "find",
    "interpolate",
    "load_config",
    "read",
    "search_path",
]

FILE_NAMES = ("llmkit.yaml", "llmkit.yml")
FOLDER_DEFAULT = "config"


class ConfigWarning(UserWarning):
    """Something in a configuration file that llmkit ignores (an unknown key, a key in clear)."""


@frozen
class Problem:
    """One thing wrong in a configuration file, at a dotted path (`clients.coder.provider`)."""

    path: str
    message: str
    source: str | None = None

    def __str__(self) -> str:
        where = ": ".join(part for part in (self.source, self.path) if part)
        return f"{where}: {self.message}" if where else self.message


class ConfigFileError(ConfigurationError):
    """A configuration file has problems; `problems` lists every one of them."""

    def __init__(self, problems: list[Problem], source: str | None) -> None:
        self.problems = problems
        count = f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"
        lines = "\n".join(f"  {p.path or '(file)'}: {p.message}" for p in problems)
        super().__init__(f"{source or 'configuration'} has {count}:\n{lines}")


@frozen
class Validation:
    """What reading a file found: the config (None when unusable), problems, warnings."""

    config: Config | None
    problems: tuple[Problem, ...] = ()
    warnings: tuple[Problem, ...] = ()
    raw: Any = None
    """The parsed YAML before `${VAR}` resolution (for `config show`)."""

    @property
    def ok(self) -> bool:
        """True when there is no problem (warnings allowed)."""
        return not self.problems and self.config is not None


# -- discovery ------------------------------------------------------------------


def user_folder(env: Mapping[str, str] | None = None) -> Path:
    """`$XDG_CONFIG_HOME/llmkit`, by default `~/.config/llmkit`."""
    env = os.environ if env is None else env
    base = env.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "llmkit"


def search_path(
    path: str | os.PathLike[str] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> list[Path]:
    """The places `find` looks, in order (for messages saying where llmkit looked)."""
    env = os.environ if env is None else env
    places = []
    if path is not None:
        places.append(Path(path))
    if env.get("LLMKIT_CONFIG"):
        places.append(Path(env["LLMKIT_CONFIG"]))
    places.extend((cwd or Path.cwd()) / name for name in FILE_NAMES)
    places.append(user_folder(env))
    return places


def named_configs(folder: Path) -> list[str]:
    """The configuration names a folder holds (`work` for `work.yaml`)."""
    if not folder.is_dir():
        return []
    return sorted({p.stem for p in folder.iterdir() if p.suffix in (".yaml", ".yml")})


def _in_folder(folder: Path, name: str | None) -> Path | None:
    names = named_configs(folder)
    wanted = name or FOLDER_DEFAULT
    for suffix in (".yaml", ".yml"):
        if (folder / f"{wanted}{suffix}").is_file():
            return folder / f"{wanted}{suffix}"
    if name is None and len(names) == 1:
        return folder / f"{names[0]}.yaml"
    if name is not None:
        available = ", ".join(names) or "none"
        raise ConfigurationError(
            f"No configuration named '{name}' in {folder} (available: {available})"
            f"{did_you_mean(name, names)}"
        )
    return None


def find(
    path: str | os.PathLike[str] | None = None,
    *,
    name: str | None = None,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> Path | None:
    """The configuration file to use, or None when there is none.

    Args:
        path: a file, or a folder of named configurations; it must exist.
        name: a named configuration (`work` → `work.yaml`) in the folder searched;
            by default `$LLMKIT_PROFILE`, else `config.yaml`.
        env: the environment (default `os.environ`).
        cwd: the folder `./llmkit.yaml` is looked for in (default: the current one).

    Raises:
        ConfigurationError: `path` or `$LLMKIT_CONFIG` does not exist, or `name` is unknown.
    """
    env = os.environ if env is None else env
    name = name or env.get("LLMKIT_PROFILE") or None
    for given, label in ((path, "the given path"), (env.get("LLMKIT_CONFIG"), "LLMKIT_CONFIG")):
        if not given:
            continue
        candidate = Path(given).expanduser()
        if candidate.is_dir():
            return _in_folder(candidate, name)
        if candidate.is_file():
            return candidate
        raise ConfigurationError(f"No configuration file at {candidate} ({label})")
    if name is None:
        for file_name in FILE_NAMES:
            if (local := (cwd or Path.cwd()) / file_name).is_file():
                return local
    return _in_folder(user_folder(env), name)


# -- ${VAR} resolution ----------------------------------------------------------

_VAR = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)([^}]*))?\}")


def interpolate(
    data: Any, env: Mapping[str, str], path: str = ""
) -> tuple[Any, list[tuple[str, str]]]:
    """`data` with `${VAR}` and `${VAR:-default}` resolved in every string value.

    `$$` stands for a literal `$`. Returns the resolved data and `(path, message)` for
    each variable that is not set and has no default.
    """
    problems: list[tuple[str, str]] = []
    if isinstance(data, Mapping):
        out = {}
        for key, value in data.items():
            out[key], found = interpolate(value, env, f"{path}.{key}" if path else str(key))
            problems.extend(found)
        return out, problems
    if isinstance(data, list):
        items = []
        for index, value in enumerate(data):
            item, found = interpolate(value, env, f"{path}[{index}]")
            items.append(item)
            problems.extend(found)
        return items, problems
    if not isinstance(data, str):
        return data, problems

    def substitute(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        var, has_default, default = match.group(1), match.group(2), match.group(3)
        value = env.get(var)
        if value is None or (value == "" and has_default == ":-"):
            if has_default is not None:
                return default or ""
            problems.append(
                (
                    path,
                    f"environment variable {var} is not set (set it, or write ${{{var}:-default}})",
                )
            )
            return ""
        return value

    return _VAR.sub(substitute, data), problems


# -- checking -------------------------------------------------------------------


def check_references(
    config: Config,
    provider_types: Iterable[str] | None,
    families: Iterable[str] | None,
    *,
    declared: Iterable[str] = (),
) -> list[tuple[str, str]]:
    """`(path, message)` for every name in `config` that refers to nothing.

    `provider_types` and `families` are the names known besides the file's own (the
    registry's); None leaves the names of that kind unchecked. `declared` names
    providers the file declares whose settings were invalid (their own problems are
    reported already; a client naming them is not wrong too).
    """
    check_types, check_families = provider_types is not None, families is not None
    provider_types, families = sorted(provider_types or ()), sorted(families or ())
    reachable = sorted({*config.providers, *declared, *provider_types})
    found = []
    for name, provider in config.providers.items():
        kind = provider.type or name
        if check_types and kind not in provider_types:
            where = f"providers.{name}.type" if provider.type else f"providers.{name}"
            hint = (
                did_you_mean(kind, provider_types)
                or " (set `type:` to one of: " + ", ".join(provider_types) + ")"
            )
            found.append((where, f"unknown provider type '{kind}'{hint}"))
        deferred = f"providers.{name}" in config.unset  # its base_url may be an unset ${VAR}
        if kind == "openai_compatible" and not provider.base_url and not deferred:
            found.append((f"providers.{name}.base_url", "required for type openai_compatible"))
    for name, client in config.clients.items():
        family = client.family or name
        if check_families and family not in families:
            where = f"clients.{name}.family" if client.family else f"clients.{name}"
            hint = did_you_mean(family, families) or " (known: " + ", ".join(families) + ")"
            found.append((where, f"unknown model family '{family}'{hint}"))
        refs = [("provider", client.provider)]
        refs += [(f"fallbacks[{i}]", f) for i, f in enumerate(client.fallbacks)]
        for key, ref in refs:
            if check_types and ref not in reachable:
                message = f"unknown provider '{ref}'{did_you_mean(ref, reachable)}"
                found.append((f"clients.{name}.{key}", message))
    if config.default_client and config.default_client not in config.clients:
        family, _, host = config.default_client.partition("@")
        known = (not check_families or family in families) and (
            not check_types or host in reachable
        )
        if not host or not known:
            choices = [*config.clients]
            found.append(
                (
                    "default_client",
                    f"unknown client '{config.default_client}'"
                    f"{did_you_mean(config.default_client, choices)}",
                )
            )
    return found


def _declared_providers(raw: Any) -> list[str]:
    section = raw.get("providers") if isinstance(raw, Mapping) else None
    return [str(name) for name in section] if isinstance(section, Mapping) else []


def _secrets_in_clear(raw: Any) -> list[tuple[str, str]]:
    section = raw.get("providers") if isinstance(raw, Mapping) else None
    if not isinstance(section, Mapping):
        return []
    found = []
    for name, entry in section.items():
        value = entry.get("api_key") if isinstance(entry, Mapping) else None
        if isinstance(value, str) and value and "${" not in value:
            found.append(
                (f"providers.{name}.api_key", "a key is written in the file; prefer ${VARIABLE}")
            )
    return found


def _parse_yaml(text: str) -> tuple[Any, list[tuple[str, str]]]:
    from llmkit._imports import require

    yaml = require("yaml", extra="cli")
    try:
        return yaml.safe_load(text), []
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "not valid YAML"
        return None, [(where, f"invalid YAML: {problem}")]


def validate_text(
    text: str,
    *,
    source: str | None = None,
    env: Mapping[str, str] | None = None,
    provider_types: Iterable[str] | None = None,
    families: Iterable[str] | None = None,
    lazy: bool = False,
) -> Validation:
    """Check a configuration's text and report every problem and warning at once.

    Args:
        text: the YAML.
        source: the file's name, for messages.
        env: where `${VAR}` is read from (default `os.environ`).
        provider_types: names a provider's `type` may take (None: not checked; the
            registry passes `llmkit.registry.provider_names()`).
        families: names a client's `family` may take (None: not checked; the registry
            passes `llmkit.registry.client_names()`).
        lazy: an unset `${VAR}` inside a provider or client entry is not a problem of
            the file but of that entry: the settings using it are left out and
            `Config.unset` remembers it, so only building that provider or client
            fails (`llmkit run deepseek@fake` works with `GROQ_API_KEY` unset).
            `config validate` reads with `lazy=False` and reports each one.
    """
    env = os.environ if env is None else env
    raw, yaml_problems = _parse_yaml(text)
    if yaml_problems:
        return Validation(None, _problems(yaml_problems, source))
    resolved, env_problems = interpolate(raw, env)
    unset: dict[str, tuple[str, ...]] = {}
    if lazy:
        resolved, env_problems, unset = _defer_unset(resolved, env_problems)
    config, shape_problems = structure(resolved)
    config = evolve(config, source=source, unset=unset)
    problems = env_problems + shape_problems
    problems += check_references(
        config, provider_types, families, declared=_declared_providers(raw)
    )
    found = _problems(unknown_keys(raw) + _secrets_in_clear(raw), source)
    return Validation(config if not problems else None, _problems(problems, source), found, raw)


def _defer_unset(
    resolved: Any, problems: list[tuple[str, str]]
) -> tuple[Any, list[tuple[str, str]], dict[str, tuple[str, ...]]]:
    """Move the unset-variable problems of provider and client entries out of `problems`.

    Returns the data without the settings that used them (`providers.groq.api_key`
    is dropped, so the entry still parses), the problems left (those outside an
    entry), and the deferred messages by entry (`providers.groq`).
    """
    kept: list[tuple[str, str]] = []
    deferred: dict[str, list[str]] = {}
    drop: dict[tuple[str, str], set[str]] = {}
    for path, message in problems:
        section, _, rest = path.partition(".")
        name, _, key = rest.partition(".")
        key = re.split(r"[.\[]", key, maxsplit=1)[0]
        if section in {"providers", "clients"} and name and key:
            deferred.setdefault(f"{section}.{name}", []).append(f"{key}: {message}")
            drop.setdefault((section, name), set()).add(key)
        elif section == "server" and name:  # only `llmkit serve` needs it: it refuses to start
            deferred.setdefault("server", []).append(f"{rest}: {message}")
            drop.setdefault(("server", name), set()).add(key)
        else:
            kept.append((path, message))
    if drop and isinstance(resolved, Mapping):
        resolved = dict(resolved)
        for (section, name), keys in drop.items():
            entries = resolved.get(section)
            if section == "server" and "" in keys and isinstance(entries, Mapping):
                resolved[section] = {k: v for k, v in entries.items() if k != name}
                continue
            if isinstance(entries, Mapping) and isinstance(entries.get(name), Mapping):
                entry = {k: v for k, v in entries[name].items() if k not in keys}
                resolved[section] = {**entries, name: entry}
    return resolved, kept, {k: tuple(v) for k, v in deferred.items()}


def _problems(found: list[tuple[str, str]], source: str | None) -> tuple[Problem, ...]:
    return tuple(
        Problem(hide_secrets(path), hide_secrets(message), source) for path, message in found
    )


def read(
    path: str | os.PathLike[str],
    *,
    env: Mapping[str, str] | None = None,
    lazy: bool = False,
    provider_types: Iterable[str] | None = None,
    families: Iterable[str] | None = None,
) -> Validation:
    """Read and check the file at `path` (never raises for what is inside it).

    `lazy`, `provider_types`, `families`: as for `validate_text`.
    """
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigurationError(f"Cannot read {file}: {exc.strerror or exc}") from exc
    return validate_text(
        text,
        source=str(file),
        env=env,
        lazy=lazy,
        provider_types=provider_types,
        families=families,
    )


def load_config(
    path: str | os.PathLike[str] | None = None,
    *,
    name: str | None = None,
    env: Mapping[str, str] | None = None,
    provider_types: Iterable[str] | None = None,
    families: Iterable[str] | None = None,
) -> Config | None:
    """The checked configuration found by `find`, or None when there is no file.

    Unknown keys are reported as `ConfigWarning`s. An unset `${VAR}` in a provider or
    client entry is not raised here: building that entry raises (`Config.unset`).
    `provider_types`, `families`: as for `validate_text` (`llmkit.load` passes the
    registry's names).

    Raises:
        ConfigFileError: the file has problems (all of them are listed).
    """
    file = find(path, name=name, env=env)
    if file is None:
        return None
    result = read(file, env=env, lazy=True, provider_types=provider_types, families=families)
    for warning in result.warnings:
        warnings.warn(str(warning), ConfigWarning, stacklevel=3)
    if not result.ok:
        raise ConfigFileError(list(result.problems), str(file))
    return result.config


def hide_secrets(text: str) -> str:
    """`text` with API-key-shaped strings and URL credentials (`user:password@`) replaced.

    `redis://:pw@host/0` becomes `redis://***@host/0` (`llmkit.errors.redact` does both).
    """
    return redact(text)


def masked(data: Any, key: str = "") -> Any:
    """`data` with every secret value (api keys, tokens, URL passwords) replaced by `***`."""
    if isinstance(data, Mapping):
        return {k: masked(v, str(k)) for k, v in data.items()}
    if isinstance(data, list):
        return [masked(v, key) for v in data]
    if key.lower() in SECRET_KEYS and data not in (None, ""):
        return "***"
    if isinstance(data, str):
        return hide_secrets(data)
    return data
