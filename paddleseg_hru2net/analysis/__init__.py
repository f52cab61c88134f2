"""The microscopist's side: particle instances and their statistics from a segmentation mask."""
from paddleseg_hru2net.analysis.particles import (Particle, feret_diameters, measure_particles,
                                                  split_particles, split_touching)

__all__ = ["Particle", "feret_diameters", "measure_particles", "split_particles", "split_touching"]
