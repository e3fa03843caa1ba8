"""Generate ``movie_ratings.csv``: a realistic, synthetic movie-ratings data set.

No data set can be downloaded where these examples run, so the movie-ratings notebook ships a
file made by this script. It mimics what makes real rating data (MovieLens and the like) hard
for a recommender, so that tuning a collaborative-filtering model on it behaves like tuning on
real data:

* **Latent taste.** Every user and every movie gets a vector of ``N_FACTORS`` latent factors
  (think "likes action", "likes slow dramas"). A rating is driven by how well the two match,
  plus a global mean, a per-user bias (some people rate everything high) and a per-movie bias
  (some movies are just better), plus noise. This is the structure that matrix-factorization
  and neighbourhood models (``KNNWithMeans``) are built to recover.
* **Popularity skew.** Which movies get rated follows a Zipf-like law: a few blockbusters
  collect a large share of the ratings and a long tail of movies has only a handful. User
  activity is skewed too (a log-normal number of ratings per user), so some users rate hundreds
  of movies and many rate only a few.
* **Selection bias.** People mostly watch what they expect to like, so a movie is a little more
  likely to be rated by a user whose taste matches it; this pushes the rating distribution up
  the way real data is (few 1-star ratings, many 4s).
* **Stars.** The continuous score is rounded to whole stars and clipped to 1-5.

Each (user, movie) pair is rated at most once. The seed is fixed, so the file is reproducible
byte for byte: ``python examples/data/make_movie_ratings.py`` rewrites the same
``movie_ratings.csv`` beside this script (columns ``user_id,movie_id,rating``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

SEED = 20240611
N_USERS = 1_000
N_MOVIES = 1_200
N_RATINGS = 40_000
N_FACTORS = 6
GLOBAL_MEAN = 3.05
USER_BIAS_SD = 0.45
MOVIE_BIAS_SD = 0.40
FACTOR_SD = 0.45
NOISE_SD = 0.55
ZIPF_EXPONENT = 0.9
# How strongly taste steers which movies a user rates (0: not at all).
SELECTION_STRENGTH = 1.5


def generate(
    *,
    n_users: int = N_USERS,
    n_movies: int = N_MOVIES,
    n_ratings: int = N_RATINGS,
    seed: int = SEED,
) -> np.ndarray:
    """Draw the ratings.

    Args:
        n_users: number of users (ids ``1..n_users``).
        n_movies: number of movies (ids ``1..n_movies``).
        n_ratings: number of ratings to draw (each user-movie pair at most once).
        seed: seed of the random generator; the same seed gives the same array.

    Returns:
        An ``(n_ratings, 3)`` int array of ``user_id, movie_id, rating``, sorted by user then movie.
    """
    rng = np.random.default_rng(seed)

    user_factors = rng.normal(0.0, FACTOR_SD, size=(n_users, N_FACTORS))
    movie_factors = rng.normal(0.0, FACTOR_SD, size=(n_movies, N_FACTORS))
    user_bias = rng.normal(0.0, USER_BIAS_SD, size=n_users)
    movie_bias = rng.normal(0.0, MOVIE_BIAS_SD, size=n_movies)

    # Popularity: Zipf over a random order of the movies, so that movie ids carry no meaning.
    ranks = rng.permutation(n_movies) + 1
    popularity = ranks.astype(float) ** -ZIPF_EXPONENT
    # Better movies are somewhat more popular, as in real catalogues.
    popularity *= np.exp(0.8 * movie_bias)
    popularity /= popularity.sum()

    # Activity: log-normal ratings per user, at least 5 (MovieLens keeps users with >= 20; a
    # smaller floor leaves some cold-start users, which is what min_k is there to handle).
    activity = rng.lognormal(mean=0.0, sigma=0.9, size=n_users)
    per_user = np.maximum(5, np.round(activity / activity.sum() * n_ratings)).astype(int)
    per_user = np.minimum(per_user, n_movies // 2)

    affinity = user_factors @ movie_factors.T  # (users, movies): how well taste matches
    rows: list[np.ndarray] = []
    for u in range(n_users):
        # Selection bias: weight the popularity by exp(strength * affinity) before sampling.
        weights = popularity * np.exp(SELECTION_STRENGTH * affinity[u])
        weights /= weights.sum()
        movies = rng.choice(n_movies, size=per_user[u], replace=False, p=weights)
        score = (
            GLOBAL_MEAN
            + user_bias[u]
            + movie_bias[movies]
            + 2.0 * affinity[u, movies]
            + rng.normal(0.0, NOISE_SD, size=movies.size)
        )
        stars = np.clip(np.rint(score), 1, 5).astype(int)
        order = np.argsort(movies)  # one user's ratings sorted by movie id, stars kept paired
        rows.append(np.column_stack([np.full(movies.size, u + 1), movies[order] + 1, stars[order]]))

    ratings = np.concatenate(rows)
    # Trim to exactly n_ratings: the per-user floor and rounding overshoot by a few percent.
    if len(ratings) > n_ratings:
        keep = np.sort(rng.choice(len(ratings), size=n_ratings, replace=False))
        ratings = ratings[keep]
    return ratings


def write_csv(ratings: np.ndarray, path: Path) -> None:
    """Write ``user_id,movie_id,rating`` rows with a header line."""
    with path.open("w", newline="\n") as f:
        f.write("user_id,movie_id,rating\n")
        for user, movie, rating in ratings.tolist():
            f.write(f"{user},{movie},{rating}\n")


def main() -> None:
    """Command line: write the CSV and print a short summary."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        default=Path(__file__).with_name("movie_ratings.csv"),
        help="where to write the CSV (default: movie_ratings.csv beside this script)",
    )
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args()

    ratings = generate(seed=args.seed)
    write_csv(ratings, args.output)
    counts = np.bincount(ratings[:, 2], minlength=6)[1:]
    per_movie = np.bincount(ratings[:, 1])
    print(
        f"wrote {len(ratings)} ratings by {len(np.unique(ratings[:, 0]))} users on "
        f"{len(np.unique(ratings[:, 1]))} movies to {args.output} "
        f"({args.output.stat().st_size / 1024:.0f} kB)"
    )
    print("stars 1-5:", ", ".join(f"{s}: {c / len(ratings):.1%}" for s, c in enumerate(counts, 1)))
    top = np.sort(per_movie)[::-1]
    top_share = top[: max(1, len(top) // 100)].sum() / len(ratings)
    print(f"top 1% of movies hold {top_share:.1%} of ratings")


if __name__ == "__main__":
    main()
