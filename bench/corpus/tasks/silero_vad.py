"""Silero VAD 6.2.3: voice activity detection on 16 kHz audio, streamed in 512-sample chunks.

Model: silero_vad/data/silero_vad.onnx from the PyPI wheel, exported by spox at
opset 16. The main graph is one If on `sr == 16000`; both branches (16 kHz and
8 kHz) hold their own weights as Constant nodes, with 24 more Ifs nested inside
(25 in all). The STFT is a Conv with a fixed Fourier basis; the encoder is Conv+ReLU
followed by an LSTM. Inputs: input float32 [B, 576] (64 samples of context carried
over from the previous chunk, then the 512 new samples, as silero_vad's OnnxWrapper
feeds it), state float32 [2, B, 128], sr int64 scalar. Outputs: output [B, 1]
(speech probability), stateN [2, B, 128].

Data: speech synthesised with the Debian program `espeak-ng` (several voices,
speeds, pitches and sentences), resampled to 16 kHz and placed between stretches of
silence, background noise and non-speech sounds (hum, beeps, noise bursts) at known
positions. A chunk is labelled speech when at least half of its 512 new samples lie
inside an utterance (the utterance's span from first to last audible sample).
Everything is seeded; espeak-ng's output is deterministic for a given version.

Files written to out_dir:
  calib.npz  input [S,1,576], state [S,2,1,128], sr [S] (int64 scalars): chunks of
             separate calibration clips with the state the fp32 model had reached at
             that chunk in a streaming pass, so every sample is a valid standalone
             inference (96 chunks evenly spaced over the stream).
  eval.npz   the same arrays for every chunk of the evaluation clips, in stream
             order (state = fp32 streaming state), plus labels [S] (1 = speech).
  refs.npz   clip_start [C]: index of the first chunk of each evaluation clip
             (where metric() resets the state to zeros).

metric(): streams eval.npz's chunks through `run` in order, feeding back the state
the model under test returns (reset at each clip start), and returns the frame-level
F1 of speech (probability > 0.5) against the labels.
"""
import os
import shutil
import subprocess
import tempfile
import wave

import numpy as np

NAME = "silero_vad"
PACKAGE = ("silero-vad", "6.2.3")
MEMBER = "silero_vad/data/silero_vad.onnx"
SHA256 = "1a153a22f4509e292a94e67d6f9b85e8deb25b4988682b7e174c65279d8788e3"
PRODUCER = "spox (silero-vad 6.2.3), opset 16"
TASK = "voice activity detection, 16 kHz, streamed 512-sample chunks with carried state"
METRIC = "frame-level F1 of speech (p > 0.5) vs synthetic labels"
REQUIRES = []
SYSTEM_REQUIRES = ["espeak-ng"]  # Debian package; apt-get install espeak-ng

SR = 16000
CHUNK = 512
CONTEXT = 64
THRESHOLD = 0.5

SENTENCES = [
    "The quick brown fox jumps over the lazy dog.",
    "Please remember to switch off the lights before you leave the office.",
    "Our flight to Berlin has been delayed by two hours because of the fog.",
    "She planted tomatoes and beans in the small garden behind the house.",
    "The meeting will start at nine thirty in the main conference room.",
    "Can you tell me the way to the nearest train station?",
    "He spent the whole weekend repairing the old bicycle in the garage.",
    "Heavy rain is expected across the northern region tomorrow afternoon.",
    "The museum opens its new exhibition on ancient maps next Friday.",
    "I would like a cup of coffee with a little milk and no sugar.",
    "The children played football in the park until the sun went down.",
    "Turn left at the second traffic light and park behind the bakery.",
    "Scientists have discovered a new species of frog in the rain forest.",
    "The library will be closed on Monday for maintenance work.",
    "My grandmother used to tell us stories about her village by the sea.",
    "Please send the report to the whole team before the end of the day.",
    "The concert was so loud that we could hardly hear each other speak.",
    "A warm breeze carried the smell of fresh bread through the narrow street.",
    "The engineers tested the bridge with trucks full of sand and gravel.",
    "We need to buy eggs, flour and butter for the birthday cake.",
    "The train to Manchester leaves from platform four in ten minutes.",
    "Reading a good book on a rainy evening is one of my favourite things.",
    "The doctor asked him to come back for another check in three weeks.",
    "Thousands of birds fly south across the mountains every autumn.",
    "The new software update fixes several problems with the battery.",
    "They watched the fireworks from the roof of their apartment building.",
    "Could you please speak a little more slowly so that I can take notes?",
    "The river flooded the fields after a week of constant rain.",
    "Our team won the championship for the third year in a row.",
    "The old clock in the hall stopped working many years ago.",
    "Fresh vegetables from the market taste much better than frozen ones.",
    "The pilot announced that we would land in about twenty minutes.",
    "He forgot his umbrella on the bus and got completely soaked.",
    "The students presented their projects to the teachers and parents.",
    "Mountains covered in snow could be seen from the hotel window.",
    "Please keep your ticket until the end of the journey.",
    "Les enfants jouent dans le jardin pendant que leurs parents preparent le diner.",
    "Der Zug nach Hamburg hat heute leider zwanzig Minuten Verspaetung.",
    "El mercado abre todos los dias a las ocho de la manana.",
    "Il treno per Roma parte dal binario tre tra cinque minuti.",
]
# (espeak-ng voice, words per minute, pitch 0-99)
VOICES = [
    ("en-us", 165, 50), ("en-us+f3", 150, 60), ("en-gb", 175, 40), ("en-gb+m3", 140, 35),
    ("en-gb-scotland", 160, 50), ("en-029", 170, 55), ("en-us+f5", 185, 70),
    ("en-gb-x-rp+m7", 150, 30), ("en-us+f2", 130, 65), ("en-gb+klatt", 160, 45),
]
FOREIGN_VOICE = {"Les": "fr", "Der": "de", "El": "es", "Il": "it"}


def _espeak(text, voice, speed, pitch):
    """Synthesise `text`; returns float32 mono audio at 16 kHz in [-1, 1]."""
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise RuntimeError("silero_vad task needs espeak-ng (apt-get install espeak-ng)")
    with tempfile.TemporaryDirectory() as td:
        path = os.path.join(td, "u.wav")
        subprocess.run([exe, "-v", voice, "-s", str(speed), "-p", str(pitch), "-w", path, text],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        with wave.open(path, "rb") as w:
            rate, width, ch = w.getframerate(), w.getsampwidth(), w.getnchannels()
            raw = w.readframes(w.getnframes())
    assert width == 2 and ch == 1, (width, ch)
    x = np.frombuffer(raw, dtype="<i2").astype(np.float64) / 32768.0
    return _resample(x, rate, SR)


def _resample(x, src, dst):
    """Band-limited resampling by zero-padding/truncating the spectrum (numpy only)."""
    if src == dst:
        return x.astype(np.float32)
    n_out = int(round(len(x) * dst / src))
    spec = np.fft.rfft(x)
    keep = n_out // 2 + 1
    out_spec = np.zeros(keep, dtype=np.complex128)
    m = min(keep, len(spec))
    out_spec[:m] = spec[:m]
    y = np.fft.irfft(out_spec, n_out) * (n_out / len(x))
    return y.astype(np.float32)


def _trim(x, rel=0.02):
    """Span from the first to the last sample above rel * peak (drops espeak's padding)."""
    idx = np.flatnonzero(np.abs(x) > rel * np.abs(x).max())
    return x[idx[0]:idx[-1] + 1]


def _pink(rng, n):
    white = rng.standard_normal(n)
    spec = np.fft.rfft(white)
    f = np.arange(len(spec), dtype=np.float64)
    f[0] = 1.0
    y = np.fft.irfft(spec / np.sqrt(f), n)
    return y / (y.std() + 1e-12)


def _nonspeech(rng, n):
    """A non-speech sound of n samples, unit RMS: hum, beeps, noise burst or music-like tones."""
    t = np.arange(n) / SR
    kind = rng.integers(4)
    if kind == 0:  # mains hum with harmonics
        f0 = rng.choice([50.0, 60.0])
        y = sum(np.sin(2 * np.pi * f0 * k * t + rng.uniform(0, 6.3)) / k for k in range(1, 6))
    elif kind == 1:  # beeps
        f = rng.uniform(600, 2500)
        gate = (np.sin(2 * np.pi * rng.uniform(1.5, 4.0) * t) > 0).astype(np.float64)
        y = np.sin(2 * np.pi * f * t) * gate
    elif kind == 2:  # broadband noise burst (fan, traffic)
        y = _pink(rng, n) * (0.6 + 0.4 * np.sin(2 * np.pi * rng.uniform(0.2, 1.0) * t))
    else:  # sustained chord
        y = sum(np.sin(2 * np.pi * f * t) for f in rng.uniform(200, 900, size=3))
    y = np.asarray(y, dtype=np.float64)
    fade = min(n // 4, 800)
    if fade > 0:
        ramp = np.linspace(0, 1, fade)
        y[:fade] *= ramp
        y[-fade:] *= ramp[::-1]
    return y / (np.sqrt(np.mean(y ** 2)) + 1e-12)


def _clip(rng, items):
    """Audio clip of speech items between stretches of silence / noise.
    items: list of (sentence, voice, speed, pitch). Returns (audio float32, speech mask bool)."""
    parts, mask = [], []
    noise_db = rng.uniform(-62, -42)  # continuous background level (dBFS RMS)

    def gap():
        n = int(rng.uniform(1.2, 4.5) * SR)
        g = np.zeros(n)
        if rng.random() < 0.45:  # a non-speech event inside the gap
            m = int(n * rng.uniform(0.4, 0.9))
            s = rng.integers(0, n - m + 1)
            g[s:s + m] = _nonspeech(rng, m) * 10 ** (rng.uniform(-36, -22) / 20)
        parts.append(g)
        mask.append(np.zeros(n, dtype=bool))

    gap()
    for text, voice, speed, pitch in items:
        u = _trim(_espeak(text, voice, speed, pitch)).astype(np.float64)
        u *= 10 ** (rng.uniform(-28, -16) / 20) / (np.sqrt(np.mean(u ** 2)) + 1e-12)
        parts.append(u)
        mask.append(np.ones(len(u), dtype=bool))
        gap()
    x = np.concatenate(parts)
    x += _pink(rng, len(x)) * 10 ** (noise_db / 20)
    x = np.clip(x, -1.0, 1.0).astype(np.float32)
    return x, np.concatenate(mask)


def _chunks(x, mask):
    """Model inputs [n,1,576] (64-sample context + 512 new samples) and chunk labels."""
    n = len(x) // CHUNK
    x = x[:n * CHUNK]
    padded = np.concatenate([np.zeros(CONTEXT, np.float32), x])
    inputs = np.stack([padded[i * CHUNK:i * CHUNK + CONTEXT + CHUNK] for i in range(n)])[:, None, :]
    labels = mask[:n * CHUNK].reshape(n, CHUNK).mean(axis=1) >= 0.5
    return inputs.astype(np.float32), labels.astype(np.int64)


def _stream_states(sess, inputs):
    """fp32 streaming pass: the state fed at each chunk and the speech probability."""
    state = np.zeros((2, 1, 128), np.float32)
    sr = np.array(SR, dtype=np.int64)
    states, probs = [], []
    for chunk in inputs:
        states.append(state)
        out, state = sess.run(None, {"input": chunk, "state": state, "sr": sr})
        probs.append(float(out.reshape(-1)[0]))
    return np.stack(states).astype(np.float32), np.array(probs)


def _plan(rng, sentences, n_clips, per_clip):
    plan = []
    for _ in range(n_clips):
        items = []
        for _ in range(per_clip):
            s = sentences[rng.integers(len(sentences))]
            v, sp, p = VOICES[rng.integers(len(VOICES))]
            lang = FOREIGN_VOICE.get(s.split()[0])
            if lang is not None:
                v = lang + ("+" + v.split("+")[1] if "+" in v else "")
            items.append((s, v, int(sp + rng.integers(-15, 16)), int(np.clip(p + rng.integers(-10, 11), 0, 99))))
        plan.append(items)
    return plan


def _build(sess, plan, rng):
    ins, sts, labs, starts = [], [], [], []
    total = 0
    for items in plan:
        x, mask = _clip(rng, items)
        inputs, labels = _chunks(x, mask)
        states, _ = _stream_states(sess, inputs)
        starts.append(total)
        total += len(inputs)
        ins.append(inputs)
        sts.append(states)
        labs.append(labels)
    return np.concatenate(ins), np.concatenate(sts), np.concatenate(labs), np.array(starts, np.int64)


def make_data(model_path: str, out_dir: str) -> None:
    import onnxruntime as ort

    os.makedirs(out_dir, exist_ok=True)
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    sess = ort.InferenceSession(model_path, so, providers=["CPUExecutionProvider"])

    # Disjoint sentence sets for calibration and evaluation (the last foreign one of each kind goes to eval).
    calib_sentences = SENTENCES[0:12] + SENTENCES[36:38]
    eval_sentences = SENTENCES[12:36] + SENTENCES[38:40]

    rng = np.random.default_rng(1301)
    inputs, states, _, _ = _build(sess, _plan(rng, calib_sentences, 3, 3), rng)
    pick = np.unique(np.linspace(0, len(inputs) - 1, 96).round().astype(np.int64))
    n = len(pick)
    np.savez_compressed(os.path.join(out_dir, "calib.npz"), input=inputs[pick], state=states[pick],
                        sr=np.full(n, SR, dtype=np.int64))

    rng = np.random.default_rng(1302)
    inputs, states, labels, starts = _build(sess, _plan(rng, eval_sentences, 8, 4), rng)
    np.savez_compressed(os.path.join(out_dir, "eval.npz"), input=inputs, state=states,
                        sr=np.full(len(inputs), SR, dtype=np.int64), labels=labels)
    np.savez_compressed(os.path.join(out_dir, "refs.npz"), clip_start=starts)


def probabilities(run, out_dir: str) -> np.ndarray:
    """Speech probability of every eval chunk, streamed with the state of the model under test."""
    ev = np.load(os.path.join(out_dir, "eval.npz"))
    starts = set(np.load(os.path.join(out_dir, "refs.npz"))["clip_start"].tolist())
    inputs = ev["input"]
    sr = np.array(SR, dtype=np.int64)
    state = np.zeros((2, 1, 128), np.float32)
    probs = np.empty(len(inputs))
    for i in range(len(inputs)):
        if i in starts:
            state = np.zeros((2, 1, 128), np.float32)
        outs = run({"input": inputs[i], "state": state, "sr": sr})
        probs[i] = float(np.asarray(outs[0]).reshape(-1)[0])
        state = np.asarray(outs[1], dtype=np.float32).reshape(2, 1, 128)
    return probs


def metric(run, out_dir: str) -> float:
    labels = np.load(os.path.join(out_dir, "eval.npz"))["labels"].astype(bool)
    pred = probabilities(run, out_dir) > THRESHOLD
    tp = int(np.sum(pred & labels))
    fp = int(np.sum(pred & ~labels))
    fn = int(np.sum(~pred & labels))
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0
