"""`dl vae`: the course's variational autoencoder on Fashion-MNIST (or MNIST).

The encoder maps each image to the mean and log-variance of a normal distribution in a 2-D latent
space, the `Sampler` layer draws a point from it, the decoder turns the point into an image; the
custom `train_step` minimises reconstruction cross-entropy plus the KL divergence (Adam, 30 epochs
of 128). The encoder and decoder are saved apart, reloaded, and the figures come from the reloaded
parts: the course's 30x30 grid decoded from the latent plane, and the test images' latent means
coloured by class. `dl vae --sample N` decodes N random latent points of a trained run into a PNG.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from dlcli.checks import check_range, choice
from dlcli.commands.families import generative as tasks
from dlcli.commands.common import with_common
from dlcli.errors import DlcliError
from dlcli.run import load_model, trained_run
from dlcli.session import GlobalOptions, Session, import_tensorflow_quietly

GRID_SIDE = 30  # the course's n = 30
PARTS = ("encoder.keras", "decoder.keras")


def register(app: typer.Typer) -> None:
    app.command("vae", help="Variational autoencoder (2-D latent space) on Fashion-MNIST or MNIST; --sample N draws images.")(
        with_common(vae))


def vae(
    dataset: Annotated[str, typer.Argument(help=f"One of {', '.join(tasks.DATASETS)}.")] = "fashion-mnist",
    latent_dim: Annotated[int, typer.Option(help="Dimensions of the latent space (course: 2).", rich_help_panel="Network")] = 2,
    epochs: Annotated[int, typer.Option(help="Training epochs (course: 30).", rich_help_panel="Training")] = 30,
    batch_size: Annotated[int, typer.Option(help="Batch size (course: 128).", rich_help_panel="Training")] = 128,
    learning_rate: Annotated[Optional[float], typer.Option(help="Adam's learning rate (default 0.001).", rich_help_panel="Training")] = None,
    grid_extent: Annotated[Optional[float], typer.Option(help="The latent grid figure spans [-E, E] in z[0] and z[1] (course: 1; default: where the test images' latent means lie, 1st to 99th percentile).", rich_help_panel="Figures")] = None,
    sample: Annotated[Optional[int], typer.Option(help="Decode N random latent points of a trained run into a PNG; no training.", rich_help_panel="Sampling")] = None,
    model: Annotated[Optional[Path], typer.Option(help="The vae run folder --sample uses (default: the newest complete one).", rich_help_panel="Sampling")] = None,
    output: Annotated[Optional[Path], typer.Option(help="PNG written by --sample (default: RUN/plots/samples-N-seedS.png).", rich_help_panel="Sampling")] = None,
    common: GlobalOptions = None,
) -> None:
    """Train the course's VAE; plot its latent grid and the test set's latent means; or --sample from one."""
    if sample is not None or model is not None or output is not None:
        if sample is None:
            raise DlcliError("--model and --output go with --sample N (decode N random points of a trained run)")
        check_range("--sample", sample, 1)
        return sample_images(model, sample, output, common)

    name = choice("dataset", dataset, tasks.DATASETS)
    check_range("--latent-dim", latent_dim, 1)
    check_range("--epochs", epochs, 1)
    check_range("--batch-size", batch_size, 1)
    check_range("--learning-rate", learning_rate, 0, low_open=True)
    check_range("--grid-extent", grid_extent, 0, low_open=True)
    options = {"latent_dim": latent_dim, "epochs": epochs, "batch_size": batch_size, "optimizer": "adam",
               "learning_rate": learning_rate, "grid_extent": grid_extent}

    with Session("vae", name, options, common) as session:
        import numpy as np

        from dlcli import models, plots, training
        from dlcli.models import vae as vae_model

        tasks.quiet_retracing_warnings()
        x_train, x_test, y_test, class_names = tasks.load_images(session, name)
        autoencoder = models.build("vae", x_train.shape[1:], latent_dim, seed=session.seed)
        autoencoder.compile(optimizer=training.make_optimizer("adam", learning_rate))
        history = session.fit(autoencoder, x_train, None, epochs=epochs, batch_size=batch_size,
                              validation_data=(x_test,))
        test = training.evaluate(autoencoder, x_test, None)

        parts = (session.run.save_model(autoencoder.encoder, name="encoder")
                 + session.run.save_model(autoencoder.decoder, name="decoder"))
        shown = x_test[:tasks.SAMPLE_COUNT]
        z_mean, z_log_var = autoencoder.encoder.predict(shown, verbose=0)
        points = np.random.default_rng(session.seed).standard_normal((tasks.SAMPLE_COUNT, latent_dim)).astype("float32")
        decoded = training.predict(autoencoder.decoder, points)
        session.run.save_arrays(tasks.SAMPLES_FILE, {"images": shown, "z_mean": z_mean, "z_log_var": z_log_var,
                                                     "points": points, "decoded": decoded})

        encoder, decoder = (load_model(session.run.path / part) for part in PARTS)
        means = encoder.predict(x_test, batch_size=256, verbose=0)[0]
        ranges = vae_model.latent_ranges(means, grid_extent)
        pixels, grid_x, grid_y = vae_model.latent_grid(decoder, latent_dim, GRID_SIDE, ranges)
        plots.training_curves(history, session.run.plots / "curves.png", title=name)
        plots.latent_grid(pixels, grid_x, grid_y, x_test.shape[1], session.run.plots / "latent-grid.png",
                          title=f"{name}: images decoded from the latent plane")
        plots.latent_scatter(means, y_test, class_names, session.run.plots / "latent-means.png",
                             title=f"{name}: test images' latent means")
        plots.image_grid(decoded, session.run.plots / "samples.png", title="decoded from random latent points")

        final = {key: values[-1] for key, values in history.items() if key.endswith("loss")}
        metrics = {**final, **test, "latent_dim": latent_dim, "grid_ranges": [list(r) for r in ranges], "epochs": epochs, "train_samples": len(x_train),
                   "test_samples": len(x_test), "parameters": tasks.count_parameters(encoder, decoder),
                   "reload_max_abs_diff": max(float(np.max(np.abs(means[:len(shown)] - z_mean))),
                                              float(np.max(np.abs(training.predict(decoder, points) - decoded)))),
                   "part_files": parts}
        session.finish(metrics, history=history)


def sample_images(model: Optional[Path], count: int, output: Optional[Path], common: GlobalOptions) -> None:
    """Decode `count` points drawn from the latent prior N(0, I) with a trained run's decoder; write a PNG."""
    import json

    run = trained_run("vae", model, common.runs_dir, needs=PARTS, quiet=common.quiet)
    seed = common.random_seed
    target = Path(output) if output is not None else run / "plots" / f"samples-{count}-seed{seed}.png"
    if target.suffix.lower() != ".png":
        raise DlcliError(f"--output {output} must name a .png file")
    if not target.parent.is_dir():
        raise DlcliError(f"--output {output}: the folder {target.parent} does not exist")
    import_tensorflow_quietly()
    import numpy as np

    from dlcli import plots, training
    from dlcli.atomic import write_arrays

    decoder = load_model(run / "decoder.keras")
    points = np.random.default_rng(seed).standard_normal((count, decoder.inputs[0].shape[-1])).astype("float32")
    images = training.predict(decoder, points)
    try:
        plots.image_grid(images, target, title=f"{count} images decoded from random latent points (seed {seed})")
        arrays = write_arrays(target.with_suffix(".npz"), {"points": points, "images": images})
    except OSError as error:
        raise DlcliError(f"cannot write {target}: {error.strerror or error}") from None
    if common.json:
        print(json.dumps({"run": str(run), "samples": count, "png": str(target), "arrays": str(arrays)}))
    else:
        print(target)
