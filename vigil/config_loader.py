"""Reading a config file: YAML parse, ${ENV} substitution, validation, and messages a person can act on."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import yaml
from pydantic import ValidationError

from vigil.config import VigilConfig
from vigil.errors import ConfigError
from vigil.redact import redact_text
from vigil.safe_yaml import YamlLimits, load_yaml

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
MAX_CONFIG_BYTES = 2 * 1024 * 1024


@dataclass(frozen=True)
class LoadedConfig:
    """A validated config and where it came from; relative paths resolve against `base_dir`."""

    config: VigilConfig
    path: Path | None
    base_dir: Path
    secrets: tuple[str, ...] = ()  # substituted env values, to redact from anything shown

    def resolve(self, path: str) -> Path:
        p = Path(path).expanduser()
        return p if p.is_absolute() else (self.base_dir / p).resolve()

    @property
    def data_dir(self) -> Path:
        return self.resolve(self.config.data_dir)

    @property
    def shared_dir(self) -> Path:
        return self.resolve(self.config.shared_dir)

    def data_path(self, path: str) -> Path:
        p = Path(path).expanduser()
        return p if p.is_absolute() else self.data_dir / p

    @property
    def database_url(self) -> str:
        """The storage URL with a relative sqlite path placed under data_dir."""
        url = self.config.storage.database_url
        prefix = "sqlite:///"
        if url.startswith(prefix) and not url.startswith(prefix + "/") and ":memory:" not in url:
            return prefix + str(self.data_path(url[len(prefix):]))
        return url


def _substitute(node: Any, env: Mapping[str, str], path: str, file: str, used: list[str]) -> Any:
    if isinstance(node, dict):
        return {k: _substitute(v, env, f"{path}.{k}" if path else str(k), file, used) for k, v in node.items()}
    if isinstance(node, list):
        return [_substitute(v, env, f"{path}[{i}]", file, used) for i, v in enumerate(node)]
    if not isinstance(node, str):
        return node

    def repl(m: re.Match) -> str:
        name, default = m.group(1), m.group(2)
        if name in env:
            used.append(env[name])
            return env[name]
        if default is not None:
            return default
        raise ConfigError(f"{file}: {path}: expected environment variable {name} to be set (referenced as "
                          f"${{{name}}}), found it unset", file=file)

    return _ENV_REF.sub(repl, node)


def _describe(err: dict, secrets: tuple[str, ...]) -> str:
    loc = ".".join(str(p) for p in err["loc"] if not str(p).startswith("function-after"))
    loc = re.sub(r"\.(literal|str|int|float|tagged-union|LocalStoreConfig|S3StoreConfig|local|s3)\b.*?(?=\.|$)", "",
                 loc) or "(top level)"
    msg = err["msg"].removeprefix("Value error, ")
    found = err.get("input")
    if err["type"] == "missing":
        text = f"{loc}: expected a value, found the key missing"
    elif err["type"] == "extra_forbidden":
        text = f"{loc}: unknown key (not part of the config; check the spelling), found {found!r}"
    elif "found" in msg:
        text = f"{loc}: {msg}"
    else:
        shown = repr(found) if not isinstance(found, (dict, list)) else type(found).__name__
        text = f"{loc}: {msg}; found {shown}"
    return redact_text(text, secrets)


def parse_config(text: str, *, file: str = "<config>", base_dir: Path | None = None,
                 env: Mapping[str, str] | None = None) -> LoadedConfig:
    """Validate config text; raise ConfigError listing every problem with its key path."""
    try:
        raw = load_yaml(text, YamlLimits(max_bytes=MAX_CONFIG_BYTES)) if text.strip() else {}
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise ConfigError(f"{file}: not valid YAML{where}: {problem}", file=file) from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{file}: expected a mapping of keys (sites, cameras, ...) at the top level, "
                          f"found {type(raw).__name__}", file=file)
    raw, secrets = substitute_env(raw, env, file=file)
    return validate_raw(raw, file=file, base_dir=base_dir, secrets=secrets)


def substitute_env(raw: Any, env: Mapping[str, str] | None, *, file: str = "<config>",
                   path: str = "") -> tuple[Any, tuple[str, ...]]:
    """`raw` with every ${ENV} reference replaced, and the substituted values (secrets to redact)."""
    used: list[str] = []
    out = _substitute(raw, env or {}, path, file, used)
    return out, tuple(s for s in used if len(s) >= 3)


def validate_raw(raw: dict, *, file: str = "<config>", base_dir: Path | None = None,
                 secrets: tuple[str, ...] = ()) -> LoadedConfig:
    """Validate a parsed config whose ${ENV} references are already substituted (what `vigil config check` does
    after reading the YAML); ConfigError lists every problem with its key path, `secrets` redacted."""
    try:
        config = VigilConfig.model_validate(raw)
    except ValidationError as e:
        problems = [_describe(err, secrets) for err in e.errors()]
        head = f"{file}: {len(problems)} problem(s):\n" + "\n".join(f"  - {p}" for p in problems)
        raise ConfigError(head, file=file, problems=problems) from None
    return LoadedConfig(config=config, path=None if file == "<config>" else Path(file),
                        base_dir=(base_dir or Path.cwd()).resolve(), secrets=secrets)


def load_config(path: str | Path, env: Mapping[str, str] | None = None) -> LoadedConfig:
    """Read and validate a config file. Relative paths inside it resolve against its folder."""
    p = Path(path)
    if not p.is_file():
        what = "a folder" if p.is_dir() else "nothing"
        raise ConfigError(f"{p}: expected a YAML config file, found {what} at that path", file=str(p))
    if p.stat().st_size > MAX_CONFIG_BYTES:
        raise ConfigError(f"{p}: expected a config under {MAX_CONFIG_BYTES // 1024} KiB, found "
                          f"{p.stat().st_size // 1024} KiB", file=str(p))
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise ConfigError(f"{p}: expected UTF-8 text, found undecodable bytes at offset {e.start}", file=str(p)) from None
    loaded = parse_config(text, file=str(p), base_dir=p.resolve().parent, env=env)
    return LoadedConfig(config=loaded.config, path=p, base_dir=p.resolve().parent, secrets=loaded.secrets)
