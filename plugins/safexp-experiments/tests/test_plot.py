"""``safexp plot`` on runs that logged few points: a run with a single logged point still shows it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from matplotlib.image import imread

from safexp.cli import main
from safexp_experiments.config import load_config
from safexp_experiments.plot import CURVES, plot_runs

TINY = Path(__file__).parent / "experiment_configs" / "experiment" / "tiny.yaml"


def make_run(run_dir: Path, points: dict[int, tuple[float, float]]) -> Path:
    """A run directory holding the tiny experiment's resolved config and the training curves ``points``
    (env step → (episode return, episode cost)), as TensorBoard scalars."""
    from torch.utils.tensorboard import SummaryWriter

    run_dir.mkdir(parents=True)
    (run_dir / "config.yaml").write_text(load_config(TINY).to_yaml())
    return_tag, cost_tag, _ = CURVES["train"]
    writer = SummaryWriter(str(run_dir / "tensorboard"))
    for step, (episode_return, episode_cost) in points.items():
        writer.add_scalar(return_tag, episode_return, step)
        writer.add_scalar(cost_tag, episode_cost, step)
    writer.close()
    return run_dir


def curve_pixels(png: Path, color: str = "C0") -> tuple[int, int]:
    """Pixels of ``color`` in the upper (return) and lower (cost) half of the figure."""
    image = imread(png)[..., :3]
    close = np.abs(image - np.array(to_rgb(color))).max(axis=-1) < 0.08
    half = close.shape[0] // 2
    return int(close[:half].sum()), int(close[half:].sum())


def test_a_run_with_one_logged_point_is_drawn(tmp_path):
    run = make_run(tmp_path / "run", {1024: (1.5, 50.0)})
    out = plot_runs([run], tmp_path / "curves.png")
    # the cost axis holds no legend entry of the run's colour: its pixels there are the drawn point
    _, cost_pixels = curve_pixels(out)
    assert cost_pixels > 20


def test_a_long_curve_is_a_plain_line(tmp_path, capsys):
    steps = range(1000, 101_000, 1000)
    run = make_run(tmp_path / "run", {step: (step / 1e4, 50.0 - step / 1e4) for step in steps})
    assert main(["plot", str(run), "--out", str(tmp_path / "curves.png")]) == 0
    assert "wrote" in capsys.readouterr().out
    assert curve_pixels(tmp_path / "curves.png")[1] > 200


def test_seeds_with_no_step_in_common_say_so(tmp_path, monkeypatch):
    early = make_run(tmp_path / "early", {1024: (1.0, 50.0)})
    late = make_run(tmp_path / "late", {2048: (2.0, 40.0)})
    (late / "config.yaml").write_text(load_config(TINY, ["seed=1"]).to_yaml())
    texts = []
    savefig = Figure.savefig

    def capture(figure, *args, **kwargs):
        texts.extend(text.get_text() for axis in figure.axes for text in axis.texts)
        return savefig(figure, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", capture)
    plot_runs([early, late], tmp_path / "curves.png")
    assert len(texts) == 2 and all("its 2 runs logged no step in common" in text for text in texts)
