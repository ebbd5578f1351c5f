"""Determinism that can fail: the same computation in two fresh processes with different hash
seeds (PYTHONHASHSEED), compared. Calling a function twice in one process cannot catch an
order that depends on set or dict-of-str iteration; two processes seeded apart do."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ("1", "2")


def across_hash_seeds(script: str, inputs: object = None) -> list[str]:
    """Run `script` (Python that reads JSON `inputs` from stdin as `INPUTS` and prints its
    result) once per seed in SEEDS; returns each run's output, in that order. The tests
    directory is importable (platform_rules). Raises CalledProcessError with the script's
    stderr if a run fails."""
    prologue = "import json, sys\nINPUTS = json.load(sys.stdin)\n"
    outputs = []
    for seed in SEEDS:
        env = {**os.environ, "PYTHONHASHSEED": seed,
               "PYTHONPATH": os.pathsep.join([str(ROOT / "tests"), str(ROOT)])}
        result = subprocess.run([sys.executable, "-c", prologue + script],
                                input=json.dumps(inputs), capture_output=True, text=True,
                                cwd=ROOT, env=env, timeout=300)
        if result.returncode != 0:
            raise subprocess.CalledProcessError(result.returncode, result.args,
                                                result.stdout, result.stderr)
        outputs.append(result.stdout)
    return outputs
