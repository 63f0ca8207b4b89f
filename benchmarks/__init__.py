"""Speed of ``utils`` against PyTorch, as ratios measured on the same machine.

Run ``python -m benchmarks`` (or ``make bench``). Every case does the same float32
computation on both sides (same shapes, same weights), forward plus backward with
every gradient, or a training step or epoch. ``cases`` holds the single-layer rows,
``course_cases`` the rows for what the weekly notebooks run (written once against
``kit``, so both libraries build the same model). Each side runs in its own process
with the same thread count and the same allocator settings; see ``__main__`` for the
options, ``--device cuda`` for the GPU comparison and ``--notebooks`` for the time and
memory of each solution notebook.
"""
