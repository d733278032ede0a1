"""Pure numpy maths of shapes (layer 1): video tracks' keyframes expanded per frame
(`tracks`), cuboids (`cuboids`). Nothing of the platform but the ground floor."""
