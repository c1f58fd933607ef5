// placeholder
namespace cg::agent {}
