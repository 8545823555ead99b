"""A loss plugin, written against cgan's public API only: the hinge loss whose generator side
keeps, among the fakes of each label, the share the discriminator scores highest (the top-k
update of Sinha et al. 2020, ranked within a label rather than over the batch, which starves the
labels D scores low). samples/README.md has what it scored:

    python run.py --import=experiments/topk_label.py --loss=hinge_topk_label
"""

import tensorflow as tf

import cgan

SHARE = 0.5  # the share of each label's fakes kept at the budget's end, falling linearly from 1


def per_label_top_k(per_example, scores, labels, progress, share=SHARE):
    """`per_example` (B,) kept where the row's score is among the top `kept` share of the rows
    of its label (ties all kept), scaled so that it stays a mean over the rows kept."""
    scores = tf.reshape(tf.cast(scores, tf.float32), [-1])
    labels = tf.reshape(labels, [-1])
    same = tf.equal(labels[:, None], labels[None, :])
    higher = tf.reduce_sum(tf.cast(same & (scores[None, :] > scores[:, None]), tf.float32), 1)
    count = tf.reduce_sum(tf.cast(same, tf.float32), axis=1)
    kept = 1.0 - (1.0 - share) * tf.cast(progress, tf.float32)
    keep = tf.cast(higher < tf.maximum(1.0, tf.math.ceil(kept * count - 1e-4)), per_example.dtype)
    return per_example * keep * tf.cast(tf.size(scores), per_example.dtype) / tf.reduce_sum(keep)


def hinge_discriminator(step):
    return tf.nn.relu(1.0 - step.real_logits[:, 0]) + tf.nn.relu(1.0 + step.fake_logits[:, 0])


def top_k_generator(step):
    return per_label_top_k(
        -step.fake_logits[:, 0], step.fake_logits, step.fake_labels, step.progress
    )


cgan.register_loss("hinge_topk_label", hinge_discriminator, top_k_generator, has_accuracy=True)
