# Included by src/parley/server/CMakeLists.txt: generates decoy_files.cc (the decoy
# website embedded in parleyd) from the files in this directory and sets PARLEY_DECOY_CC.
set(PARLEY_DECOY_DIR "${CMAKE_CURRENT_LIST_DIR}")
set(PARLEY_DECOY_FILES about.html contact.html favicon.ico index.html repairs.html robots.txt style.css)
list(TRANSFORM PARLEY_DECOY_FILES PREPEND "${PARLEY_DECOY_DIR}/" OUTPUT_VARIABLE PARLEY_DECOY_INPUTS)
set(PARLEY_DECOY_CC "${CMAKE_CURRENT_BINARY_DIR}/decoy_files.cc")
string(REPLACE ";" "," PARLEY_DECOY_FILE_ARG "${PARLEY_DECOY_FILES}")
add_custom_command(
  OUTPUT "${PARLEY_DECOY_CC}"
  COMMAND ${CMAKE_COMMAND} -DDIR=${PARLEY_DECOY_DIR} "-DFILES=${PARLEY_DECOY_FILE_ARG}"
          -DOUT=${PARLEY_DECOY_CC} -P ${PARLEY_DECOY_DIR}/embed_decoy.cmake
  DEPENDS ${PARLEY_DECOY_INPUTS} ${PARLEY_DECOY_DIR}/embed_decoy.cmake
  COMMENT "Embedding the decoy website"
  VERBATIM)
