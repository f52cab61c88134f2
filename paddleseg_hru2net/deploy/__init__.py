"""The deployment path: static-graph export (:mod:`.export`, :mod:`.onnx`) and reading an
exported folder (:mod:`.deploy_config`). Import the modules themselves; this package imports
nothing, so reading a ``deploy.yaml`` does not load Paddle."""
