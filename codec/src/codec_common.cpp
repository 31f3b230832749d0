#include "codec_common.h"

namespace cachegen {

ContainerView open_container(const Codec& codec, const std::string& expected_params,
                             const uint8_t* data, size_t size, uint64_t file_offset) {
  ContainerView view = ContainerView::parse(data, size, file_offset, "input");
  if (view.header().codec != codec.name()) {
    fail("container at byte offset ", file_offset, " was written by codec '", view.header().codec,
         "', not '", codec.name(), "'");
  }
  if (view.header().params != expected_params) {
    fail("container at byte offset ", file_offset, " has parameters '", view.header().params,
         "' but the decoder was built with '", expected_params, "'");
  }
  check_shape_limits(view);
  return view;
}

std::vector<uint8_t> encode_values(const std::vector<float>& values, DType dtype) {
  std::vector<uint8_t> bytes(values.size() * dtype_size(dtype));
  from_float(dtype, values.data(), bytes.data(), static_cast<int64_t>(values.size()));
  return bytes;
}

std::vector<float> decode_values(const ContainerView& view, uint32_t tag, int64_t count,
                                 DType dtype) {
  uint64_t expected = static_cast<uint64_t>(count) * dtype_size(dtype);
  if (view.section_size(tag) != expected) {
    fail("container at byte offset ", view.file_offset(), ": section '", section_tag_name(tag),
         "' at byte offset ", view.section_file_offset(tag), " holds ", view.section_size(tag),
         " bytes, expected ", expected);
  }
  std::vector<float> values(static_cast<size_t>(count));
  to_float(dtype, view.section_data(tag), values.data(), count);
  return values;
}

void check_shape_limits(const ContainerView& view) {
  const KVShape& s = view.header().shape;
  if (s.layers > (1 << 16) || s.tokens > (1 << 26) || s.kv_heads > (1 << 16) ||
      s.head_dim > (1 << 16) || s.elements() > kMaxElements) {
    fail("container at byte offset ", view.file_offset(), ": shape ", s.to_string(),
         " exceeds the supported limits");
  }
}

}  // namespace cachegen
