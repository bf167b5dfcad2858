/* Everything generated model code calls: the kernels of every operator family. */
#ifndef EDGEC_KERNELS_H
#define EDGEC_KERNELS_H

#include "ec_common.h"
#include "ec_nn.h"
#include "ec_elementwise.h"
#include "ec_data.h"
#include "ec_fused.h"
#include "ec_lstm.h"
#include "ec_svdf.h"

#endif /* EDGEC_KERNELS_H */
