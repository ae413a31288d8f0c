"""`dl autoencode`: the course's convolutional autoencoder on Fashion-MNIST (or MNIST).

An encoder squeezes each image into 16 numbers, a decoder rebuilds the image from them, and the
two, chained, train to give back their input (Adam, mean squared error, 5 epochs of 128). With
`--denoise` the inputs carry the course's Gaussian noise (mean 0.1, std 0.05) and the targets are
the clean images. The run reports how far reconstructions, noisy images and denoised images are
from the clean test images, and decodes random codes, as the course's "generating images".
"""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from dlcli.checks import check_range, choice
from dlcli.commands.families import generative as tasks
from dlcli.commands.common import with_common
from dlcli.errors import DlcliError
from dlcli.session import GlobalOptions, Session

COURSE_NOISE = (0.1, 0.05)  # mean, standard deviation of the noise added to the images
COURSE_CODE = (0.5, 0.3)  # mean, standard deviation of the random codes decoded into new images


def register(app: typer.Typer) -> None:
    app.command("autoencode", help="Convolutional autoencoder (16-number code) on Fashion-MNIST; --denoise trains on noisy images.")(
        with_common(autoencode))


def autoencode(
    dataset: Annotated[str, typer.Argument(help=f"One of {', '.join(tasks.DATASETS)}.")] = "fashion-mnist",
    denoise: Annotated[bool, typer.Option("--denoise", help="Train on noisy images against the clean ones.", rich_help_panel="Network")] = False,
    code_size: Annotated[int, typer.Option(help="Numbers in the code, a multiple of 16 (course: 16).", rich_help_panel="Network")] = 16,
    noise_mean: Annotated[float, typer.Option(help="Mean of the Gaussian noise (course: 0.1).", rich_help_panel="Network")] = COURSE_NOISE[0],
    noise_std: Annotated[float, typer.Option(help="Standard deviation of the noise (course: 0.05).", rich_help_panel="Network")] = COURSE_NOISE[1],
    epochs: Annotated[int, typer.Option(help="Training epochs (course: 5).", rich_help_panel="Training")] = 5,
    batch_size: Annotated[int, typer.Option(help="Batch size (course: 128).", rich_help_panel="Training")] = 128,
    learning_rate: Annotated[Optional[float], typer.Option(help="Adam's learning rate (default 0.001).", rich_help_panel="Training")] = None,
    common: GlobalOptions = None,
) -> None:
    """Train the course's autoencoder; report test MSE; plot reconstructions, denoising and generated images."""
    name = choice("dataset", dataset, tasks.DATASETS)
    check_range("--code-size", code_size, 16)
    if code_size % 16:
        raise DlcliError(f"--code-size must be a multiple of 16 (the decoder starts from a 4x4 grid), got {code_size}")
    check_range("--epochs", epochs, 1)
    check_range("--batch-size", batch_size, 1)
    check_range("--learning-rate", learning_rate, 0, low_open=True)
    check_range("--noise-std", noise_std, 0)
    options = {"denoise": denoise, "code_size": code_size, "noise_mean": noise_mean, "noise_std": noise_std,
               "epochs": epochs, "batch_size": batch_size, "optimizer": "adam", "learning_rate": learning_rate}

    with Session("autoencode", name, options, common) as session:
        import numpy as np

        from dlcli import models, plots, training

        x_train, x_test, _, _ = tasks.load_images(session, name)
        rng = np.random.default_rng(session.seed)
        noisy_test = tasks.add_noise(x_test, noise_mean, noise_std, rng)
        inputs = tasks.add_noise(x_train, noise_mean, noise_std, rng) if denoise else x_train

        model = models.build("autoencoder", x_train.shape[1:], code_size)
        model.compile(optimizer=training.make_optimizer("adam", learning_rate), loss="mse")
        history = session.fit(model, inputs, x_train, epochs=epochs, batch_size=batch_size,
                              validation_data=(noisy_test if denoise else x_test, x_test))

        encoder, decoder = model.get_layer("encoder"), model.get_layer("decoder")
        reconstructed, denoised = training.predict(model, x_test), training.predict(model, noisy_test)
        shown = slice(0, tasks.SAMPLE_COUNT)
        random_codes = rng.normal(*COURSE_CODE, (tasks.SAMPLE_COUNT, code_size)).astype("float32")
        generated = training.predict(decoder, random_codes)
        plots.training_curves(history, session.run.plots / "curves.png", title=name)
        plots.image_grid(np.concatenate([x_test[shown], reconstructed[shown]]), session.run.plots / "reconstructions.png",
                         columns=len(x_test[shown]), row_labels=["original", "reconstructed"], title=f"{name}: test images")
        plots.image_grid(np.concatenate([noisy_test[shown], denoised[shown]]), session.run.plots / "denoising.png",
                         columns=len(x_test[shown]), row_labels=["noisy", "denoised"],
                         title=f"noise N({noise_mean}, {noise_std}); trained {'on noisy' if denoise else 'on clean'} images")
        plots.image_grid(generated, session.run.plots / "generated.png",
                         title=f"decoded from random codes N({COURSE_CODE[0]}, {COURSE_CODE[1]})")

        parts = session.run.save_model(encoder, name="encoder") + session.run.save_model(decoder, name="decoder")
        session.run.save_arrays(tasks.SAMPLES_FILE, {"images": x_test[shown], "noisy": noisy_test[shown],
                                                     "reconstructions": reconstructed[shown], "denoised": denoised[shown],
                                                     "codes": training.predict(encoder, x_test[shown]),
                                                     "random_codes": random_codes, "generated": generated})
        metrics = {"test_mse": tasks.mse(reconstructed, x_test), "noisy_mse": tasks.mse(noisy_test, x_test),
                   "denoised_mse": tasks.mse(denoised, x_test), "denoise": denoise, "code_size": code_size,
                   "epochs": epochs, "train_samples": len(x_train), "test_samples": len(x_test), "part_files": parts}
        session.finish(metrics, model=model, history=history)
