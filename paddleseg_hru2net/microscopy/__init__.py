"""Microscope image files: pixel values to a grey image the model can read (:mod:`.intensity`,
:mod:`.reading`), the data bar (:mod:`.data_bar`) and the pixel size from each vendor's
metadata (:mod:`.pixel_size`); resampling an image by a factor (:mod:`.resampling`); the
median particle size of a label image (:mod:`.particle_diameters`)."""
