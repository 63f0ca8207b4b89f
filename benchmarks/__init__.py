"""Speed of ``utils`` against PyTorch on the CPU, as ratios measured on the same machine.

Run ``python -m benchmarks`` (or ``make bench``). Every case does the same float32
computation on both sides (same shapes, same weights), forward plus backward with
every gradient. Each side runs in its own process with the same thread count and the
same allocator settings; see ``__main__`` for the options.
"""
