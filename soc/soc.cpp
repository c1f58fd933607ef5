// placeholder
namespace cg::soc {}
