"""``safexp plot``: runs that logged few points (a single logged point still shows), and the Lagrange multiplier
panel, all read back from real TensorBoard event files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from matplotlib.image import imread

from safexp.cli import main
from safexp_experiments.config import load_config
from safexp_experiments.plot import CURVES, MULTIPLIER_TAG, Curve, fill_spread, mean_and_spread, plot_runs, read_scalars
from safexp_experiments.training import train

TINY = Path(__file__).parent / "experiment_configs" / "experiment" / "tiny.yaml"


def make_run(run_dir: Path, points: dict[int, tuple[float, float]], extra: dict[str, dict[int, float]] | None = None,
             seed: int = 0, overrides: list[str] | None = None) -> Path:
    """A run directory holding the tiny experiment's resolved config (with ``seed`` and ``overrides``) and the
    training curves ``points`` (env step → (episode return, episode cost)) and ``extra`` (tag → step → value), as
    TensorBoard scalars."""
    from torch.utils.tensorboard import SummaryWriter

    run_dir.mkdir(parents=True)
    (run_dir / "config.yaml").write_text(load_config(TINY, [f"seed={seed}", *(overrides or [])]).to_yaml())
    return_tag, cost_tag, _ = CURVES["train"]
    writer = SummaryWriter(str(run_dir / "tensorboard"))
    for step, (episode_return, episode_cost) in points.items():
        writer.add_scalar(return_tag, episode_return, step)
        writer.add_scalar(cost_tag, episode_cost, step)
    for tag, values in (extra or {}).items():
        for step, value in values.items():
            writer.add_scalar(tag, value, step)
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


# -- the Lagrange multiplier panel ------------------------------------------------------------------------
@pytest.fixture
def saved_figures(monkeypatch) -> list[Figure]:
    """Every figure :func:`plot_runs` saves, kept for inspection (the file is written as usual)."""
    figures = []
    savefig = Figure.savefig

    def keep(figure, *args, **kwargs):
        figures.append(figure)
        return savefig(figure, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", keep)
    return figures


STEPS = (1000, 2000, 3000)


def test_the_multiplier_is_a_third_panel_with_the_mean_across_seeds(tmp_path, saved_figures):
    points = {step: (1.0, 40.0) for step in STEPS}
    first = make_run(tmp_path / "s0", points, {MULTIPLIER_TAG: dict(zip(STEPS, (0.1, 0.5, 0.9)))})
    second = make_run(tmp_path / "s1", points, {MULTIPLIER_TAG: dict(zip(STEPS, (0.3, 0.7, 1.1)))}, seed=1)
    plot_runs([first, second], tmp_path / "curves.png")
    ax_return, ax_cost, ax_multiplier = saved_figures[0].axes
    assert ax_multiplier.get_ylabel() == "Lagrange multiplier λ"
    assert ax_multiplier.get_xlabel() == "environment steps" and ax_cost.get_xlabel() == ""
    (line,) = ax_multiplier.get_lines()
    assert list(line.get_xdata()) == list(STEPS)
    assert line.get_ydata() == pytest.approx([0.2, 0.6, 1.0], abs=1e-6)  # float32 in the event files
    assert len(ax_multiplier.collections) == 1  # the ± 1 std band of two seeds
    assert ax_multiplier.get_legend() is None and not ax_multiplier.texts  # one λ per run: colours say which


def test_each_constraint_has_its_own_multiplier_line(tmp_path, saved_figures):
    run = make_run(tmp_path / "run", {step: (1.0, 40.0) for step in STEPS}, {
        f"{MULTIPLIER_TAG}/hazards": dict(zip(STEPS, (0.5, 1.0, 1.5))),
        f"{MULTIPLIER_TAG}/vases": dict(zip(STEPS, (0.0, 0.0, 0.25))),
    })
    plot_runs([run], tmp_path / "curves.png")
    ax_multiplier = saved_figures[0].axes[2]
    lines = {line.get_label().rsplit("λ ", 1)[1]: line for line in ax_multiplier.get_lines()}
    assert sorted(lines) == ["hazards", "vases"]
    assert lines["hazards"].get_ydata() == pytest.approx([0.5, 1.0, 1.5])
    assert lines["vases"].get_ydata() == pytest.approx([0.0, 0.0, 0.25])
    assert lines["hazards"].get_linestyle() != lines["vases"].get_linestyle()
    assert [t.get_text() for t in ax_multiplier.get_legend().get_texts()] == [l.get_label() for l in lines.values()]


def test_runs_without_a_multiplier_have_no_third_panel(tmp_path, saved_figures):
    run = make_run(tmp_path / "run", {step: (1.0, 40.0) for step in STEPS})
    plot_runs([run], tmp_path / "curves.png")
    assert len(saved_figures[0].axes) == 2
    assert saved_figures[0].axes[1].get_xlabel() == "environment steps"


def test_the_panel_names_the_runs_that_have_no_multiplier(tmp_path, saved_figures):
    constrained = make_run(tmp_path / "lag", {step: (1.0, 40.0) for step in STEPS},
                           {MULTIPLIER_TAG: dict(zip(STEPS, (0.1, 0.2, 0.3)))})
    other = make_run(tmp_path / "other", {step: (2.0, 60.0) for step in STEPS}, overrides=["algo.cost_limit=10"])
    plot_runs([constrained, other], tmp_path / "curves.png")
    ax_return, _, ax_multiplier = saved_figures[0].axes
    other_label = ax_return.get_lines()[1].get_label().split(" (")[0]
    assert "cost_limit=10" in other_label
    assert [t.get_text() for t in ax_multiplier.texts] == [f"no Lagrange multiplier: {other_label}"]
    assert len(ax_multiplier.get_lines()) == 1


def test_a_trained_lagrangian_run_shows_the_multiplier_it_logged(tmp_path, saved_figures):
    result = train(TINY, [f"out_dir={tmp_path}", "name=run", "eval_freq=0", "checkpoint_freq=0"])
    logged = read_scalars(result.run_dir, MULTIPLIER_TAG)  # the tag the learners log λ under
    assert main(["plot", str(result.run_dir), "--out", str(tmp_path / "curves.png")]) == 0
    (line,) = saved_figures[0].axes[2].get_lines()
    assert list(line.get_xdata()) == list(logged.steps) and list(line.get_ydata()) == list(logged.values)
    assert len(logged.steps) >= 2 and logged.values[-1] > logged.values[0]  # cost 50 > limit 25: λ rises


def test_the_spread_band_stays_within_the_values_the_runs_logged():
    # costs 0, 0, 30 at each step: mean 10, std 14.1; a plain mean ± std band would reach −4.1, a cost no run had
    steps = np.array([0, 10])
    curves = [Curve(steps, np.array([0.0, 0.0])), Curve(steps, np.array([0.0, 0.0])), Curve(steps, np.array([30.0, 30.0]))]
    grid, mean, std = mean_and_spread(curves)
    assert (mean - std).min() < 0
    axis = Figure().subplots()
    fill_spread(axis, curves, grid, mean, std, "C0")
    band = axis.collections[0].get_paths()[0].vertices[:, 1]
    assert band.min() == 0.0 and band.max() == pytest.approx(10.0 + np.std([0.0, 0.0, 30.0]))
