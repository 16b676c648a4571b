#pragma once
// Gathering whole rows: the batches a training loop draws in a shuffled order.
#include <cstdint>

namespace fastdl {

// dst row r = src row index[r], for r < rows; a row is row_bytes bytes and the indices are
// valid (checked by the caller). Threads take contiguous ranges of the output when the copy is
// large: a shuffled batch reads rows scattered over the whole array, and two cores have twice
// the misses in flight of one.
void take_rows(const char* src, int64_t row_bytes, const int64_t* index, int64_t rows,
               char* dst);

}  // namespace fastdl
