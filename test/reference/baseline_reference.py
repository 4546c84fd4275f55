#!/usr/bin/python3
"""Reference values for src/models/baseline.ts (the built-in text classifier).

Run with Debian's Python, which is where scikit-learn is installed on this project's machines:

    apt-get install -y python3-sklearn python3-scipy python3-numpy
    /usr/bin/python3 test/reference/baseline_reference.py

(Written against scikit-learn 1.2.1, SciPy 1.10.1, NumPy 1.24.2 — the versions in Debian 12.)
It writes, under test/fixtures/baseline/:

  tokens.json  strings with their tokens, n-gram features and hashed buckets (the featuriser, checked
               against this independent implementation);
  mail.json    a generated mail corpus (3 classes: ham, list, spam; subject + body; a fixed train/test
               split) and, for several settings, what scikit-learn predicts for every test document.

The output is deterministic (fixed seed, one BLAS thread).

The featuriser, re-implemented here from its definition (see baseline.ts):
  * text -> Unicode NFKC -> lower case (Python's str.lower and JavaScript's toLowerCase both apply the
    Unicode default full case mapping, final sigma included);
  * tokens are the maximal runs of characters whose general category is a letter (L*), a mark (M*),
    a number (N*) or connector punctuation (Pc, e.g. '_');
  * features are the word n-grams for n = 1..ngrams, the n tokens joined by one space;
  * a feature's bucket is FNV-1a (32-bit; offset basis 2166136261, prime 16777619) of its UTF-8 bytes,
    modulo the number of buckets; a document is the vector of its bucket counts.

The models, fitted by scikit-learn on that very count matrix (scipy.sparse, n_features = buckets):
  * multinomial naive Bayes = sklearn.naive_bayes.MultinomialNB(alpha, fit_prior=True): Manning, Raghavan &
    Schütze 2008 (Introduction to Information Retrieval, §13.2), eq. 13.7 with Lidstone smoothing alpha over
    the B buckets, P(t|c) = (T_ct + alpha) / (sum_t' T_ct' + alpha B), and the prior N_c / N (eq. 13.5).
    Kept: the joint log-likelihood log P(c) + sum_t x_t log P(t|c) (predict_joint_log_proba) and the
    posterior probabilities (predict_proba) per test document.
  * multinomial logistic regression on the count vectors scaled to unit Euclidean length
    (sklearn.preprocessing.normalize): LogisticRegression(multi_class='multinomial', solver='newton-cg',
    C = 1 / (l2 n)) (why not 'lbfgs': see fit_logistic_regression), which minimises
    sum_i CE_i + ||W||^2 / (2C), i.e. (times 1/n) the mean cross-entropy + (l2 / 2) ||W||_F^2 that
    baseline.ts minimises; the intercepts are not penalised in either. The optimum is unique, so both
    solvers, run to a tight tolerance, reach the same probabilities.
"""

import json
import os
import unicodedata
import warnings

# One BLAS thread: multi-threaded reductions may differ in the last bit from run to run.
os.environ.setdefault('OPENBLAS_NUM_THREADS', '1')
os.environ.setdefault('OMP_NUM_THREADS', '1')

import numpy as np  # noqa: E402
import scipy.sparse as sp  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.naive_bayes import MultinomialNB  # noqa: E402
from sklearn.preprocessing import normalize  # noqa: E402

OUT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'fixtures', 'baseline')

# ----------------------------------------------------------------------------------------- featuriser

WORD_CATEGORIES = ('L', 'M', 'N')


def is_word_char(ch):
    cat = unicodedata.category(ch)
    return cat[0] in WORD_CATEGORIES or cat == 'Pc'


def tokenize(text):
    text = unicodedata.normalize('NFKC', text).lower()
    tokens, current = [], []
    for ch in text:
        if is_word_char(ch):
            current.append(ch)
        elif current:
            tokens.append(''.join(current))
            current = []
    if current:
        tokens.append(''.join(current))
    return tokens


def features(tokens, ngrams):
    out = []
    for n in range(1, ngrams + 1):
        for i in range(len(tokens) - n + 1):
            out.append(' '.join(tokens[i : i + n]))
    return out


def fnv1a32(text):
    h = 2166136261
    for byte in text.encode('utf-8'):
        h ^= byte
        h = (h * 16777619) & 0xFFFFFFFF
    return h


def count_matrix(texts, ngrams, buckets):
    rows, cols = [], []
    for i, text in enumerate(texts):
        for f in features(tokenize(text), ngrams):
            rows.append(i)
            cols.append(fnv1a32(f) % buckets)
    data = np.ones(len(rows))
    m = sp.coo_matrix((data, (rows, cols)), shape=(len(texts), buckets)).tocsr()
    m.sum_duplicates()
    return m


# --------------------------------------------------------------------------------------------- corpus

CLASSES = ['ham', 'list', 'spam']

PHRASES = {
    'ham': [
        'can we meet tomorrow', 'attached is the report', 'thanks for your help', 'see you at lunch',
        'the meeting moved to friday', 'please review the draft', 'let me know what you think',
        'how was the trip', 'call me when you land', 'the build is broken again', 'café at 10?',
        'I fixed the bug in the parser', 'are you free this weekend', 'mum says hello',
        'the invoice from the plumber', 'notes from our call', 'happy birthday!', 'running late, sorry',
        'can you send the slides', 'dinner on saturday?', 'the kids loved it', 'quick question about the budget',
        'I pushed the fix to master', 'your flight details', 'Grüße aus München', 'the quarterly numbers look fine',
        'did you get my text', 'I will be out of office', 'the contract needs a signature', 'see attached photos',
    ],
    'list': [
        'weekly digest', 'new release announced', 'to unsubscribe from this list', 're: patch review',
        'mailing list archive', 'call for papers', 'community meetup next month', 'changelog for version 2.4',
        'special offer for subscribers', 'you are receiving this because you subscribed', 'thread summary',
        'the vote passed', 'security advisory', 'new members this week', 'conference registration is open',
        'read more on our blog', 'top stories today', 'forum moderators', 'bug tracker update',
        'release candidate available for testing', 'webinar recording', 'manage your subscription',
        'Lettre d’information hebdomadaire', 'donate to support the project', 'discussion continues on the wiki',
    ],
    'spam': [
        'limited time offer', 'click here to claim your prize', 'you have been selected', '100% FREE',
        'no credit check', 'cheap meds online', 'lose weight fast', 'act now!!!', 'winner', 'dear friend',
        'exclusive deal just for you', 'risk free trial', 'bank transfer pending', 'urgent reply needed',
        'Überweisung sofort bestätigen', '¡gana dinero ya!', 'mortgage rates slashed', 'work from home',
        'earn $5000 a week', 'your account will be suspended', 'verify your password', 'hot singles near you',
        'ＦＲＥＥ ｇｉｆｔ ｃａｒｄ', 'offre spéciale', 'ΠΡΟΣΦΟΡΑ ΣΗΜΕΡΑ', 'congratulations you won',
        'unsubscribe here', 'lowest prices guaranteed', 'miracle cure', 'investment opportunity',
    ],
}

FILLER = (
    'the a to and of in for is on it you that this with be are at as i we have your our not but from or '
    'will can all just if about so one what when up out more there their some time get like would me do '
    'been has no my also how which now new an by they them was he she please today week information '
    'update here thanks hello hi regards best email message mail free offer meeting list money people '
    'team next good day year work need know make see help back want first well way look go said over'
).split()


def zipf_weights(n, s=1.1):
    w = 1.0 / np.arange(1, n + 1) ** s
    return w / w.sum()


def styled(rng, phrase):
    """Mail casing and punctuation: mostly as written, sometimes shouted or title-cased."""
    u = rng.random()
    if u < 0.08:
        phrase = phrase.upper()
    elif u < 0.2:
        phrase = phrase.title()
    v = rng.random()
    if v < 0.15:
        phrase += '.'
    elif v < 0.22:
        phrase += '!'
    elif v < 0.3:
        phrase += ','
    return phrase


def generate_mail(rng, n_docs, noise=0.03):
    """A SpamAssassin-like corpus: each message draws phrases from its own class with a share that varies
    by message (a quarter of them are ambiguous), phrases from the other classes and common filler
    words; some phrases repeat (burstiness), and a few labels are wrong. Correlated words, repetition and
    overlapping classes are what make naive Bayes overconfident on real mail."""
    filler_p = zipf_weights(len(FILLER))
    docs = []
    for i in range(n_docs):
        label = CLASSES[rng.integers(len(CLASSES))]
        others = [c for c in CLASSES if c != label]
        own_share = rng.uniform(0.25, 0.55) if rng.random() < 0.25 else rng.uniform(0.55, 0.9)
        pieces = []
        for _ in range(2 + rng.poisson(5)):
            u = rng.random()
            if u < own_share:
                pool = PHRASES[label]
            elif u < own_share + (1 - own_share) * 0.45:
                pool = PHRASES[others[rng.integers(2)]]
            else:
                words = rng.choice(FILLER, size=1 + rng.poisson(3), p=filler_p)
                pieces.append(' '.join(words))
                continue
            phrase = styled(rng, pool[rng.integers(len(pool))])
            repeat = 1 + (rng.poisson(1.5) if rng.random() < 0.15 else 0)
            pieces.extend([phrase] * repeat)
        subject_pool = PHRASES[label] if rng.random() < 0.7 else PHRASES[others[rng.integers(2)]]
        subject = styled(rng, subject_pool[rng.integers(len(subject_pool))])
        true_label = label if rng.random() >= noise else others[rng.integers(2)]
        docs.append({'id': f'm{i:04d}', 'subject': subject, 'body': ' '.join(pieces), 'label': true_label})
    return docs


# ------------------------------------------------------------------------------------------- fixtures

TOKEN_CASES = [
    'Hello, World!',
    '',
    '   ...!!!   ',
    "don't e-mail foo_bar x² 100% 3.14",
    'Café naïve cafe\u0301',
    'ＦＲＥＥ ｇｉｆｔ — ﬁnal offer',
    'ΟΔΟΣ ΣΑΣ Straße İstanbul',
    '免费 礼品卡 🎉 ok',
    'Tab\tseparated\nnew line',
    'the the the the',
    'Überweisung sofort bestätigen',
    'नमस्ते दुनिया',
]


def token_fixture():
    cases = []
    for text in TOKEN_CASES:
        tokens = tokenize(text)
        for ngrams in (1, 2, 3):
            feats = features(tokens, ngrams)
            for buckets in (2**18, 1000):
                cases.append(
                    dict(
                        text=text,
                        ngrams=ngrams,
                        buckets=buckets,
                        tokens=tokens,
                        features=feats,
                        hashes=[fnv1a32(f) for f in feats],
                        buckets_of_features=[fnv1a32(f) % buckets for f in feats],
                    )
                )
    # FNV-1a test vectors (Fowler, Noll & Vo; draft-eastlake-fnv): '' -> 0x811c9dc5, 'a' -> 0xe40c292c, 'foobar' -> 0xbf9cf968.
    vectors = {s: fnv1a32(s) for s in ['', 'a', 'foobar', 'café', '🎉']}
    assert vectors[''] == 0x811C9DC5 and vectors['a'] == 0xE40C292C and vectors['foobar'] == 0xBF9CF968
    return dict(cases=cases, fnv1a32=vectors)


def fit_logistic_regression(X, y, l2):
    """LogisticRegression(multi_class='multinomial', C=1/(l2 n)) solved to the optimum's rounding level.

    With solver='lbfgs', scikit-learn 1.2 hands SciPy's L-BFGS-B its default ftol (2.2e-9 relative decrease),
    which stops it while the gradient is still ~1e-6 (probabilities off by up to 2e-4 on this corpus) whatever
    `tol` says; 'newton-cg' reaches a gradient of ~1e-12. The objective and its unique optimum are the same."""
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')  # ConvergenceWarning at max_iter, line-search notes at the optimum
        lr = LogisticRegression(multi_class='multinomial', solver='newton-cg', C=1.0 / (l2 * X.shape[0]), tol=1e-10, max_iter=1000)
        lr.fit(X, y)
    assert gradient_max_abs(lr, X, y, l2) < 1e-9
    return lr


def gradient_max_abs(lr, X, y, l2):
    """Largest component of the gradient of J(W, b) = mean cross-entropy + (l2/2)||W||^2 at the fitted W, b."""
    residual = lr.predict_proba(X) - np.eye(len(lr.classes_))[y]
    n = X.shape[0]
    grad_w = np.asarray((X.T @ residual).T) / n + l2 * lr.coef_
    grad_b = residual.mean(axis=0)
    return float(max(np.abs(grad_w).max(), np.abs(grad_b).max()))


def text_of(doc):
    """What the baseline reads with text fields subject and body: the fields joined by one space."""
    return doc['subject'] + ' ' + doc['body']


def mail_fixture():
    rng = np.random.default_rng(20240611)
    docs = generate_mail(rng, 1500)
    # A few awkward test documents: empty, punctuation only, words never seen in training.
    docs += [
        {'id': 'edge-empty', 'subject': '', 'body': '', 'label': 'ham'},
        {'id': 'edge-punct', 'subject': '!!!', 'body': '... --- ???', 'label': 'spam'},
        {'id': 'edge-unseen', 'subject': 'zyzzyva', 'body': 'quokka xylophone zyzzyva', 'label': 'list'},
    ]
    n_train = 1000
    train, test = docs[:n_train], docs[n_train:]
    for d in train:
        d['split'] = 'train'
    for d in test:
        d['split'] = 'test'
    y_train = np.array([CLASSES.index(d['label']) for d in train])
    n = len(train)

    settings = []
    # (ngrams, buckets, naive Bayes alpha, logistic regression l2): the defaults, and a small hash space
    # where many features collide, with lighter smoothing and regularisation.
    for ngrams, buckets, alpha, l2 in ((2, 2**18, 1.0, 1e-3), (1, 2**10, 0.1, 1e-4)):
        X_train = count_matrix([text_of(d) for d in train], ngrams, buckets)
        X_test = count_matrix([text_of(d) for d in test], ngrams, buckets)
        nb = MultinomialNB(alpha=alpha, fit_prior=True, force_alpha=True).fit(X_train, y_train)
        assert list(nb.classes_) == [0, 1, 2]
        settings.append(
            dict(
                algorithm='naive_bayes',
                ngrams=ngrams,
                buckets=buckets,
                alpha=alpha,
                active_buckets=int((np.asarray(X_train.sum(axis=0)).ravel() > 0).sum()),
                joint_log_likelihood=nb.predict_joint_log_proba(X_test).tolist(),
                log_probs=nb.predict_log_proba(X_test).tolist(),
                probs=nb.predict_proba(X_test).tolist(),
                predicted=[CLASSES[k] for k in nb.predict(X_test)],
            )
        )
        Xn_train = normalize(X_train, norm='l2')
        Xn_test = normalize(X_test, norm='l2')
        lr = fit_logistic_regression(Xn_train, y_train, l2)
        settings.append(
            dict(
                algorithm='logistic_regression',
                ngrams=ngrams,
                buckets=buckets,
                l2=l2,
                gradient_max_abs=gradient_max_abs(lr, Xn_train, y_train, l2),
                probs=lr.predict_proba(Xn_test).tolist(),
                predicted=[CLASSES[k] for k in lr.predict(Xn_test)],
                train_accuracy=float((lr.predict(Xn_train) == y_train).mean()),
            )
        )
    return dict(
        classes=CLASSES,
        text_fields=['subject', 'body'],
        note='text = subject + " " + body; models are fitted on the split "train" and evaluated on "test"',
        docs=docs,
        settings=settings,
    )


def main():
    os.makedirs(OUT_DIR, exist_ok=True)
    for name, value in (('tokens.json', token_fixture()), ('mail.json', mail_fixture())):
        with open(os.path.join(OUT_DIR, name), 'w', encoding='utf-8') as f:
            json.dump(value, f, ensure_ascii=False, separators=(',', ':'))
            f.write('\n')
        print(f'wrote {name}')


if __name__ == '__main__':
    main()
