// Fingerprint tables and rendering. The list is Parley's own: 256 emoji with their
// default emoji presentation (no variation selector, no ZWJ sequences, Unicode <= 10),
// each with a short common English word, all words distinct.
#include "parley/crypto/fingerprint.h"

#include <utility>

#include "parley/base/check.h"

namespace parley::crypto {
namespace {

struct Symbol {
  std::string_view emoji;
  std::string_view word;
};

// clang-format off
constexpr Symbol kSymbols[] = {
  // 0: animals
  {"🐶", "dog"}, {"🐱", "cat"}, {"🐭", "mouse"}, {"🐹", "hamster"},
  {"🐰", "rabbit"}, {"🐻", "bear"}, {"🐼", "panda"}, {"🐨", "koala"},
  {"🐯", "tiger"}, {"🦁", "lion"}, {"🐮", "cow"}, {"🐷", "pig"},
  {"🐸", "frog"}, {"🐵", "monkey"}, {"🐔", "chicken"}, {"🐧", "penguin"},
  {"🐦", "bird"}, {"🐤", "chick"}, {"🦆", "duck"}, {"🦅", "eagle"},
  {"🦉", "owl"}, {"🦇", "bat"}, {"🐺", "wolf"}, {"🐗", "boar"},
  {"🐴", "horse"}, {"🦄", "unicorn"}, {"🐝", "bee"}, {"🐛", "caterpillar"},
  {"🦋", "butterfly"}, {"🐌", "snail"}, {"🐞", "ladybug"}, {"🐜", "ant"},
  // 32
  {"🦂", "scorpion"}, {"🐢", "turtle"}, {"🐍", "snake"}, {"🦎", "lizard"},
  {"🐙", "octopus"}, {"🦑", "squid"}, {"🦐", "shrimp"}, {"🦀", "crab"},
  {"🐡", "blowfish"}, {"🐟", "fish"}, {"🐬", "dolphin"}, {"🐳", "whale"},
  {"🦈", "shark"}, {"🐊", "crocodile"}, {"🐆", "leopard"}, {"🦓", "zebra"},
  {"🦍", "gorilla"}, {"🐘", "elephant"}, {"🦏", "rhino"}, {"🐪", "camel"},
  {"🦒", "giraffe"}, {"🐃", "buffalo"}, {"🐑", "sheep"}, {"🐐", "goat"},
  {"🦌", "deer"}, {"🐓", "rooster"}, {"🦃", "turkey"}, {"🦔", "hedgehog"},
  {"🦊", "fox"}, {"🐲", "dragon"}, {"🦕", "dinosaur"}, {"🐾", "paws"},
  // 64: plants and nature
  {"🌵", "cactus"}, {"🌳", "tree"}, {"🌲", "pine"}, {"🌴", "palm"},
  {"🌱", "sprout"}, {"🌿", "herb"}, {"🍀", "clover"}, {"🍁", "maple"},
  {"🍄", "mushroom"}, {"🌷", "tulip"}, {"🌹", "rose"}, {"🌻", "sunflower"},
  {"🌼", "daisy"}, {"🌸", "blossom"}, {"🌾", "wheat"}, {"💐", "bouquet"},
  {"🍂", "leaf"}, {"🐚", "shell"}, {"🌰", "chestnut"}, {"🦗", "cricket"},
  {"🐏", "ram"}, {"🐀", "rat"}, {"🎩", "hat"}, {"🐋", "humpback"},
  // 88: food and drink
  {"🍎", "apple"}, {"🍐", "pear"}, {"🍊", "orange"}, {"🍋", "lemon"},
  {"🍌", "banana"}, {"🍉", "watermelon"}, {"🍇", "grapes"}, {"🍓", "strawberry"},
  {"🍒", "cherry"}, {"🍑", "peach"}, {"🍍", "pineapple"}, {"🥝", "kiwi"},
  {"🥑", "avocado"}, {"🍆", "eggplant"}, {"🥕", "carrot"}, {"🌽", "corn"},
  {"🥔", "potato"}, {"🥒", "cucumber"}, {"🥜", "peanut"}, {"🍞", "bread"},
  {"🥐", "croissant"}, {"🧀", "cheese"}, {"🥚", "egg"}, {"🍳", "skillet"},
  {"🥞", "pancakes"}, {"🥓", "bacon"}, {"🍔", "burger"}, {"🍟", "fries"},
  {"🍕", "pizza"}, {"🌭", "hotdog"}, {"🌮", "taco"}, {"🌯", "burrito"},
  {"🍿", "popcorn"}, {"🍜", "noodles"}, {"🍣", "sushi"}, {"🍤", "tempura"},
  {"🍙", "onigiri"}, {"🍦", "icecream"}, {"🍩", "donut"}, {"🍪", "cookie"},
  {"🎂", "cake"}, {"🍫", "chocolate"}, {"🍬", "candy"}, {"🍭", "lollipop"},
  {"🍯", "honey"}, {"☕", "coffee"}, {"🍵", "tea"}, {"🍺", "beer"},
  {"🍷", "wine"}, {"🍸", "cocktail"}, {"🥛", "milk"}, {"🍼", "bottle"},
  {"🥥", "coconut"}, {"🥦", "broccoli"}, {"🥨", "pretzel"}, {"🥪", "sandwich"},
  {"🥧", "pie"}, {"🥤", "soda"}, {"🥫", "tin"}, {"🍝", "spaghetti"},
  // 148: travel and places
  {"🚗", "car"}, {"🚕", "taxi"}, {"🚌", "bus"}, {"🚑", "ambulance"},
  {"🚒", "firetruck"}, {"🚓", "police"}, {"🚜", "tractor"}, {"🚲", "bicycle"},
  {"🛴", "scooter"}, {"🚂", "train"}, {"🚁", "helicopter"}, {"🚀", "rocket"},
  {"🛸", "saucer"}, {"⛵", "sailboat"}, {"🚢", "ship"}, {"⚓", "anchor"},
  {"🛶", "canoe"}, {"🚤", "speedboat"}, {"🛫", "airplane"}, {"🚠", "gondola"},
  {"🚦", "traffic"}, {"🚧", "barrier"}, {"⛽", "fuel"}, {"🚨", "siren"},
  {"🏠", "house"}, {"🏰", "castle"}, {"🗼", "tower"}, {"⛺", "tent"},
  {"🎪", "circus"}, {"⛲", "fountain"}, {"🌋", "volcano"}, {"🗻", "mountain"},
  {"🎠", "carousel"}, {"🎡", "wheel"}, {"🎢", "coaster"}, {"💈", "barber"},
  {"🚪", "door"}, {"🛁", "bathtub"}, {"🚿", "shower"}, {"🗽", "statue"},
  // 188: sky and weather
  {"🌞", "sun"}, {"🌙", "moon"}, {"⭐", "star"}, {"🌈", "rainbow"},
  {"⛄", "snowman"}, {"🔥", "fire"}, {"💧", "droplet"}, {"🌊", "wave"},
  {"⚡", "lightning"}, {"🌍", "globe"}, {"🌠", "comet"}, {"🌀", "cyclone"},
  {"💨", "wind"}, {"☔", "umbrella"}, {"👻", "ghost"}, {"👽", "alien"},
  // 204: things
  {"🤖", "robot"}, {"💀", "skull"}, {"🎃", "pumpkin"}, {"🎈", "balloon"},
  {"🎁", "gift"}, {"🎀", "ribbon"}, {"🎉", "party"}, {"🏆", "trophy"},
  {"🏅", "medal"}, {"⚽", "soccer"}, {"🏀", "basketball"}, {"🏈", "football"},
  {"⚾", "baseball"}, {"🎾", "tennis"}, {"🏐", "volleyball"}, {"🎳", "bowling"},
  {"🎯", "target"}, {"🎲", "dice"}, {"🎮", "gamepad"}, {"🎸", "guitar"},
  {"🎺", "trumpet"}, {"🎻", "violin"}, {"🥁", "drum"}, {"🎹", "piano"},
  {"🎷", "saxophone"}, {"🎤", "microphone"}, {"🎧", "headphones"}, {"📷", "camera"},
  {"📺", "television"}, {"📻", "radio"}, {"💡", "bulb"}, {"🔦", "flashlight"},
  {"🔑", "key"}, {"🔒", "lock"}, {"🔔", "bell"}, {"🔨", "hammer"},
  {"🔧", "wrench"}, {"🔬", "microscope"}, {"🔭", "telescope"}, {"📡", "antenna"},
  {"💎", "gem"}, {"💰", "money"}, {"📦", "box"}, {"📫", "mailbox"},
  {"📌", "pin"}, {"📎", "paperclip"}, {"📏", "ruler"}, {"📖", "book"},
  {"👑", "crown"}, {"💍", "ring"}, {"⌚", "watch"}, {"⏰", "alarm"},
};
// clang-format on
static_assert(std::size(kSymbols) == Fingerprint::kTableSize, "the fingerprint table has 256 entries");

template <auto Member>
constexpr std::array<std::string_view, Fingerprint::kTableSize> Column() {
  std::array<std::string_view, Fingerprint::kTableSize> out{};
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = kSymbols[i].*Member;
  return out;
}
constexpr auto kEmoji = Column<&Symbol::emoji>();
constexpr auto kWords = Column<&Symbol::word>();

std::string Join(const Fingerprint& fp, std::string_view (Fingerprint::*at)(std::size_t) const) {
  std::string out;
  for (std::size_t i = 0; i < Fingerprint::kSymbols; ++i) {
    if (i) out += ' ';
    out += (fp.*at)(i);
  }
  return out;
}

}  // namespace

Fingerprint Fingerprint::FromSecret(std::span<const uint8_t, 32> fingerprint_secret) {
  Fingerprint fp;
  for (std::size_t i = 0; i < kSymbols; ++i) fp.indices_[i] = fingerprint_secret[i];
  return fp;
}

std::string_view Fingerprint::EmojiAt(std::size_t i) const {
  PARLEY_CHECK(i < kSymbols);
  return kEmoji[indices_[i]];
}

std::string_view Fingerprint::WordAt(std::size_t i) const {
  PARLEY_CHECK(i < kSymbols);
  return kWords[indices_[i]];
}

std::string Fingerprint::Emoji() const { return Join(*this, &Fingerprint::EmojiAt); }
std::string Fingerprint::Words() const { return Join(*this, &Fingerprint::WordAt); }

std::span<const std::string_view, Fingerprint::kTableSize> Fingerprint::EmojiTable() { return kEmoji; }
std::span<const std::string_view, Fingerprint::kTableSize> Fingerprint::WordTable() { return kWords; }

}  // namespace parley::crypto
