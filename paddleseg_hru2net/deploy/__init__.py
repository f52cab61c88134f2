"""The deployment path: static-graph export and the inference backends that run it."""
from paddleseg_hru2net.deploy.export import InferenceHead, export_static, read_deploy_config
from paddleseg_hru2net.deploy.predictor import PaddleInferencePredictor

__all__ = ["InferenceHead", "export_static", "read_deploy_config", "PaddleInferencePredictor"]
