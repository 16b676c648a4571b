#pragma once
// Gathering whole rows (the batches a training loop draws in a shuffled order) and adding rows
// into the rows they came from (an Embedding's gradient).
#include <cstdint>

namespace fastdl {

// dst row r = src row index[r], for r < rows; a row is row_bytes bytes and the indices are
// valid (checked by the caller). Threads take contiguous ranges of the output when the copy is
// large: a shuffled batch reads rows scattered over the whole array, and two cores have twice
// the misses in flight of one.
void take_rows(const char* src, int64_t row_bytes, const int64_t* index, int64_t rows,
               char* dst);

// out row index[i] += values row i, for i < count, in order: repeated indices add up, each
// element's sum taken in the order of i whatever the thread count (threads take ranges of the
// columns, each over every index). Rows are `width` elements; the indices are valid (checked
// by the caller).
template <class T>
void index_add_rows(T* out, int64_t width, const int64_t* index, int64_t count, const T* values);

}  // namespace fastdl
