"""Registry errors and Config validation: bad input is refused with one clear message."""

import dataclasses
import os
import subprocess
import sys

import pytest

import cgan  # registers the architectures
from cgan import options, registry
from cgan.config import Config, DataSource
from cgan.errors import CganError


def test_the_four_architectures_are_registered():
    assert {"dense", "dcgan", "cgan", "wgan_gp"} <= set(registry.names())


def test_another_builder_under_a_taken_name_is_refused_in_one_line():
    with pytest.raises(
        CganError,
        match=r"^architecture 'cgan' is already registered \(by cgan.architectures.cgan.build\); "
        "choose another name$",
    ):
        registry.register("cgan", conditional=True)(lambda *args: None)
    assert registry.get("cgan").build.__module__ == "cgan.architectures.cgan"  # kept


def test_unknown_architecture_lists_the_known_ones():
    with pytest.raises(CganError) as error:
        registry.get("gan9000")
    for name in ("cgan", "dcgan", "dense", "wgan_gp"):
        assert name in str(error.value)


@pytest.mark.parametrize(
    "fields, message",
    [
        (dict(arch="nope"), f"^--arch must be one of {', '.join(registry.names())}, got 'nope'$"),
        # above 9: cgan.data checks
        (dict(digit=-1), "--digit must be a label of the dataset, 0 or more"),
        (dict(image_size=30), "--image_size must be a multiple of 4 from 16 to 256, got 30"),
        (dict(image_size=512), "--image_size must be a multiple of 4"),
        (
            dict(dataset="cifar10", mnist_dir="/m"),
            "--mnist_dir is for --dataset=mnist; give cifar10's files with --manual_dir",
        ),
        (dict(dataset="folder:/x", manual_dir="/m"), "--manual_dir is for tensorflow-datasets"),
        (dict(epochs=0), "--epochs must be positive"),
        (dict(steps=-5), "--steps must be positive"),
        (dict(batch_size=0), "--batch_size must be positive"),
        (dict(learning_rate=0.0), "--learning_rate must be positive"),
        (dict(ema=1.0), "--ema must be in"),
        (dict(class_weight=0.0), r"^--class_weight must be positive for cgan, got 0.0$"),
        (
            dict(arch="dense", class_weight=1.0),
            r"^--class_weight is for architectures with a class head; dense has none$",
        ),
        (dict(beta_1=1.0), r"--beta_1 must be in \[0, 1\), got 1.0"),
        (dict(beta_1=-0.1), r"--beta_1 must be in \[0, 1\), got -0.1"),
        (dict(mode_seeking=-0.5), r"^--mode_seeking must be >= 0, got -0.5$"),
        (dict(mode_seeking=float("inf")), r"^--mode_seeking must be >= 0, got inf$"),
        (dict(r1=-1.0), r"^--r1 must be >= 0, got -1.0$"),
        (dict(minibatch_stddev=-2), r"^--minibatch_stddev must be 0 or at least 2, got -2$"),
        (dict(minibatch_stddev=1), r"^--minibatch_stddev must be 0 or at least 2, got 1$"),
        (dict(top_k=0.0), r"^--top_k must be in \(0, 1\], got 0.0$"),
        (dict(top_k=1.5), r"^--top_k must be in \(0, 1\], got 1.5$"),
        (dict(r2=float("nan")), r"^--r2 must be >= 0, got nan$"),
        (dict(d_width=0), r"^--d_width must be positive, got 0$"),
        (dict(g_width=-8), r"^--g_width must be positive, got -8$"),
        (
            dict(augment="translation,flip"),
            r"^--augment: unknown augmentation 'flip'; known: cutout, translation$",
        ),
        (dict(beta_2=1.0), r"^--beta_2 must be in \[0, 1\), got 1.0$"),
        (dict(critic_steps=0), "^--critic_steps must be positive, got 0$"),
        (dict(gradient_penalty=-1.0), "^--gradient_penalty must be >= 0, got -1.0$"),
        (
            dict(loss="l2"),
            "^--loss must be one of bce, hinge, relativistic, wasserstein, got 'l2'$",
        ),
        (
            dict(learning_rate_decay="cosine"),
            "^--learning_rate_decay must be one of constant, hold, linear, got 'cosine'$",
        ),
        (dict(mode="dream"), "--mode must be one of"),
        (dict(mode="generate", export="out.txt"), "must name an .npz"),
        (dict(budget_images=1000, budget_seconds=60), "give one budget"),
        (dict(budget_images=-5), "--budget_images must be positive"),
        (dict(budget_seconds=0), "--budget_seconds must be positive"),
        (dict(steps=10, budget_images=1000), "--steps and a budget"),
        (dict(mode="compare"), "--mode=compare needs the budget"),
        (
            dict(mode="compare", budget_images=1000, archs=("dense", "gan9000")),
            r"--archs: unknown architecture 'gan9000'; registered: " + ", ".join(registry.names()),
        ),
        (dict(mode="compare", budget_images=1000, archs=()), "at least one architecture"),
        (
            dict(mode="compare", budget_images=1000, archs=("cgan", "dense", "cgan")),
            "names cgan more than once",
        ),
        (dict(mode="compare", budget_images=1000, seeds=0), "--seeds must be positive"),
        (dict(mode="compare", budget_images=1000, digit=3), "drop --digit"),
        (dict(archs=("dense",)), "^--archs is for --mode=compare only$"),
        (dict(mode="evaluate", seeds=3), "^--seeds is for --mode=compare only$"),
        (dict(archs=("dense",), seeds=2), "^--archs, --seeds are for --mode=compare only$"),
        (dict(experiment="quick", archs=("dense",)), "^--experiment is for --mode=compare only$"),
        (dict(draw="mosaic"), "--draw must be one of grid, interpolation, sweep"),
        (dict(arch="dcgan", draw="sweep"), "needs a conditional architecture"),
        (dict(arch="cgan", draw="sweep", digit=4), "drop --digit"),
    ],
)
def test_bad_values_are_refused(fields, message):
    with pytest.raises(CganError, match=message):
        Config(**fields)


def test_recipe_takes_the_architecture_defaults_and_the_overrides():
    assert Config(arch="wgan_gp").recipe.critic_steps == 5
    assert Config(arch="wgan_gp").recipe.gradient_penalty == 10.0
    assert Config(arch="wgan_gp").recipe.beta_2 == 0.9
    assert Config(arch="wgan_gp", learning_rate=3e-3).recipe.learning_rate == 3e-3
    assert Config(arch="cgan", ema=0.0).recipe.ema == 0.0
    assert Config(arch="cgan").recipe.beta_1 == 0.0
    assert Config(arch="cgan", beta_1=0.9).recipe.beta_1 == 0.9
    assert (Config().recipe.class_weight, Config(class_weight=1.0).recipe.class_weight) == (
        0.3,
        1.0,
    )
    # no class head, no weight: allowed
    assert Config(arch="dense", class_weight=0.0).recipe.class_weight == 0.0
    assert (Config().recipe.mode_seeking, Config(arch="cgan_fast").recipe.mode_seeking) == (
        0.3,
        0.3,
    )
    assert (
        Config(mode_seeking=0.0).recipe.mode_seeking,
        Config(arch="dcgan").recipe.mode_seeking,
    ) == (0.0, 0.0)
    # Radford's
    assert (Config(arch="dcgan").recipe.learning_rate, Config(arch="dcgan").recipe.beta_1) == (
        2e-4,
        0.5,
    )


def test_g_width_and_d_width_reach_the_builder_and_one_without_them_is_refused_in_one_line():
    def filters(model):
        return [layer.filters for layer in model.layers if hasattr(layer, "filters")]

    def networks(arch, **widths):
        return registry.get(arch).networks((28, 28, 1), 16, 10, Config(arch=arch, **widths).recipe)

    generator, discriminator = networks("cgan", d_width=64)
    assert filters(discriminator) == [64, 128, 128] and filters(generator) == [64, 64, 1]
    generator, discriminator = networks("cgan_fast", g_width=32)  # its other width stays its own
    assert filters(generator) == [32, 32, 1] and filters(discriminator) == [24, 48, 48]
    generator, discriminator = networks("dcgan", g_width=16, d_width=8)
    assert filters(generator) == [32, 16, 1] and filters(discriminator) == [8, 16]
    with pytest.raises(CganError, match=r"^--d_width: architecture 'dense' does not offer it$"):
        networks("dense", d_width=32)


def test_every_recipe_field_but_conditional_is_a_config_field_that_overrides_it(monkeypatch):
    from cgan import terms

    monkeypatch.setattr(terms.TERMS, "_entries", dict(terms.TERMS._entries))  # forgotten after
    terms.register_term("test_flagless", "generator")(lambda step: step.fake_logits[:, 0])
    overrides = dict(
        loss="hinge",
        critic_steps=2,
        gradient_penalty=1.0,
        learning_rate=1e-3,
        learning_rate_decay="hold",
        beta_1=0.1,
        beta_2=0.9,
        ema=0.5,
        ema_half_life=10_000.0,
        class_weight=1.0,
        mode_seeking=0.1,
        minibatch_stddev=4,
        g_width=48,
        d_width=32,
        r1=2.0,
        r2=3.0,
        augment="cutout",
        terms="test_flagless=0.5",
        top_k=0.5,
    )
    recipe_fields = {field.name for field in dataclasses.fields(registry.Recipe)}
    config_fields = {field.name for field in dataclasses.fields(Config)}
    assert recipe_fields - {"conditional"} == set(overrides) <= config_fields
    assert dataclasses.asdict(Config(**overrides).recipe) == dict(overrides, conditional=True)
    assert Config(arch="cgan", augment="none").recipe.augment == ""  # "" is no flag value
    assert (
        Config(arch="cgan", augment=" cutout, translation").recipe.augment == "cutout,translation"
    )
    assert Config(terms=" test_flagless = 1, none").recipe.terms == "test_flagless=1"


def test_every_field_has_help_and_a_value_outside_its_choices_is_refused_listing_them():
    with_choices = [field for field in dataclasses.fields(Config) if options.choices(field)]
    assert {field.name for field in with_choices} == {
        "arch",
        "mode",
        "learning_rate_decay",
        "loss",
        "export_format",
        "on_divergence",
        "draw",
        "strategy",
        "mixed_precision",
    }
    for field in dataclasses.fields(Config):
        assert field.metadata["help"].strip(), field.name
    for field in with_choices:
        allowed = options.choices(field)
        assert getattr(Config(), field.name) in (None, *allowed)
        with pytest.raises(CganError) as error:
            Config(**{field.name: "no_such_choice"})
        expected = f"--{field.name} must be one of {', '.join(allowed)}, got 'no_such_choice'"
        assert str(error.value) == expected


def test_config_and_options_import_no_tensorflow():
    # An empty cgan package: its __init__ imports the architectures, which import TensorFlow.
    code = (
        "import sys, types\n"
        "package = types.ModuleType('cgan'); package.__path__ = [sys.argv[1]]\n"
        "sys.modules['cgan'] = package\n"
        "import cgan.config\n"
        "print(sorted({name.split('.')[0] for name in sys.modules} & {'tensorflow', 'keras'}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, os.path.dirname(cgan.__file__)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == "[]"


def test_run_dir_is_shared_by_digits_only_for_conditional_models():
    assert (
        Config(arch="cgan", digit=7).run_dir
        == Config(arch="cgan", digit=3).run_dir
        == os.path.join("runs", "cgan")
    )
    assert Config(arch="dcgan", digit=7).run_dir == os.path.join("runs", "dcgan-digit7")
    assert Config(arch="dcgan").run_dir == os.path.join("runs", "dcgan")
    assert Config(arch="dcgan", digit=7, output_dir="elsewhere").run_dir == "elsewhere"


def test_mnist_dir_falls_back_to_the_environment(monkeypatch):
    monkeypatch.setenv("CGAN_MNIST_DIR", "/from/env")
    assert Config().resolved_manual_dir == "/from/env"
    assert Config(mnist_dir="/from/flag").resolved_manual_dir == "/from/flag"
    # the MNIST files are no other dataset's
    assert Config(dataset="kmnist").resolved_manual_dir is None
    assert Config(dataset="kmnist", manual_dir="/k").data_source == DataSource(
        "kmnist", None, "/k", None
    )


def test_other_datasets_and_sizes_get_their_own_run_folders():
    assert Config(arch="cgan", dataset="fashion_mnist").run_dir == os.path.join(
        "runs", "fashion_mnist", "cgan"
    )
    assert Config(arch="cgan", image_size=32).run_dir == os.path.join("runs", "mnist-32", "cgan")
    assert Config(arch="dense", digit=3, dataset="folder:/data/pets/").run_dir == os.path.join(
        "runs", "pets", "dense-digit3"
    )
    assert (
        DataSource("folder:/data/pets").folder == "/data/pets"
        and DataSource("cifar10").folder is None
    )


def test_a_budget_replaces_epochs_in_train_and_compare_mode():
    assert Config(budget_images=6000).budget == ("images", 6000)
    assert Config(mode="compare", budget_seconds=90).budget == ("seconds", 90)
    assert Config().budget is None
    assert Config(mode="compare", budget_seconds=90).run_dir == os.path.join("runs", "compare")
    assert Config(mode="compare", budget_seconds=90, experiment="quick").run_dir == os.path.join(
        "runs", "quick"
    )
