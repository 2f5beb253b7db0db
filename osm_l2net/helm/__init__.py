"""The helm adapter: ``runner`` is the only module that runs the helm binary; ``postrender`` is the post-renderer
helm runs back, which adds each KDU's pod metadata to its rendered manifests."""
