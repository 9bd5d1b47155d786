import {
  HOSTILE_COMMANDS,
  listOf,
  NETWORK_COMMANDS,
  SECRET_ENV,
  SECRET_FILES,
  SUSPICIOUS_COMMANDS,
} from "./shared.js";

/**
 * `pip install` / `uv pip install` / `uv add` / `uv sync`: PyPI only, no secrets, no dynamic
 * `python -c` except the build backends pip and uv run, no network tools. malwi's format.
 */
export const PYPI_INSTALL = `version: 1
description: "warden run preset pypi-install: PyPI only; secrets, persistence, python -c and network tools denied"

python:
  deny: [getpass.getpass, keyring.get_password, keyring.set_password, webbrowser.open]
  warn:
    - os.system
    - os.popen
    - "os.exec*"
    - "os.spawn*"
    - os.posix_spawn
    - subprocess.Popen
    - ctypes.CDLL
    - ctypes.cdll.LoadLibrary

commands:
  allow:
    - sh
    - uname
    - git
    - uv
    - rustc
    - cargo
    - cc
    - gcc
    - g++
    - c++
    - ld
    - make
    - "python* -I -B -c *get_interpreter_info*"
    - "python* -c *setuptools.build_meta*"
    - "python* -c *flit_core.buildapi*"
    - "python* -c *hatchling.build*"
    - "python* -c *pdm.backend*"
    - "python* -c *maturin*"
    - "python* -c *mesonpy*"
    - "python* -c *scikit_build_core*"
    - "python* -c *poetry.core*"
    - "python* */pip/*"
    - "python* */pyproject_hooks/*"
    - "python* -m pip *"
  deny:
${listOf([...NETWORK_COMMANDS, ...HOSTILE_COMMANDS, "node", "python* -c *", "python* -e *"])}
  warn:
${SUSPICIOUS_COMMANDS}

network:
  allow:
    - "pypi.org/**"
    - "*.pypi.org/**"
    - "files.pythonhosted.org/**"
    - "*.pythonhosted.org/**"

files:
  deny:
${SECRET_FILES}

envvars:
  deny:
${SECRET_ENV}
`;
